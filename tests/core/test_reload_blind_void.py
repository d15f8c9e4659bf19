"""Contract fixes of 2026-12-02 (an audit against SLA.md): hysteresis across a reload (§6.1,
§6.5), customer notices while blind (§6.5), voided outages and outages that ended before
their detection (§6.2, §6.4). Each test failed on the code before its fix."""

from __future__ import annotations

from dataclasses import replace

from monitor.core.effects import MetricName
from monitor.core.inputs import Control, Probed, Reload, Tick
from monitor.core.model import PathState, ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ControlPlan
from tests.core import helpers as h
from tests.core.test_supervisor import BOSS, FAULT, MIN, NOC, S, Story, closed, opened, plan
from tests.core.test_supervisor import probes as path_probes

GW = ControlPlan(name="gw", address="192.0.2.1")


def control(s: Story, ok: bool) -> None:
    s.feed(Probed.of([(Control(name="gw"), ProbeResult(target="gw", at=s.now, ok=ok))]))


def rounds(s: Story, n: int, paths_ok: bool, gw_ok: bool) -> None:
    for _ in range(n):
        s.feed(path_probes(s.now, paths_ok))
        control(s, gw_ok)
        s.feed(Tick())
        s.now += S


def customers(s: Story, since: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (str(x.notice.kind), x.recipients) for x in s.sends()[since:] if NOC not in x.recipients
    ]


# -- §6.1: thresholds lowered by a reload in the middle of a run ------------------------------


def test_fail_after_lowered_mid_run_takes_the_paths_down_with_the_next_failure() -> None:
    s = Story(replace(plan(), fail_after=5))
    s.run(2, True)
    start = s.now
    s.run(4, False)  # 4 failures: not yet down under fail_after=5
    s.feed(Reload(plan=replace(plan(), fail_after=3)))
    assert not opened(s)
    s.run(1, False)
    assert {s.sup.tracker.path_state(k) for k in h.PATHS} == {(PathState.DOWN, start)}
    [o] = opened(s)
    assert (o.incident.start, o.incident.detected) == (start, s.now - S)


def test_recover_after_lowered_mid_run_ends_the_outage_with_the_next_success() -> None:
    s = Story(replace(plan(), recover_after=5))
    s.run(2, True)
    s.run(3, False)
    assert len(opened(s)) == 1
    back = s.now
    s.run(3, True)
    s.feed(Reload(plan=replace(plan(), recover_after=2)))
    assert s.sup.tracker.open_incident(h.CID) is not None
    s.run(1, True)
    assert s.sup.tracker.open_incident(h.CID) is None
    [c] = closed(s)
    assert c.incident.end == back


def test_control_targets_take_the_reloaded_thresholds() -> None:
    s = Story(plan(controls=(GW,)))
    for _ in range(2):
        control(s, True)
        s.now += S
    s.feed(Reload(plan=replace(plan(controls=(GW,)), fail_after=5)))
    for _ in range(4):
        control(s, False)
        s.now += S
    assert not s.sup.tracker.blind  # 4 failures: the paths would not be down either
    control(s, False)
    assert s.sup.tracker.blind


# -- §6.5: nothing to the customers while blind; it goes out when sight returns ---------------


def test_customer_notices_wait_while_blind_and_go_out_when_sight_returns() -> None:
    s = Story(plan(controls=(GW,)))
    rounds(s, 2, True, True)
    rounds(s, 3, False, True)  # the outage opens while the monitor can see
    assert customers(s) == [("opened", (FAULT,))]
    rounds(s, 3, False, False)  # then the NOC loses sight
    assert s.sup.tracker.blind
    before = len(s.sends())
    s.travel(15 * MIN)  # the escalation group's time
    s.travel(50 * MIN)  # reminder 1
    s.travel(60 * MIN)  # reminder 2
    assert s.sup.tracker.blind
    assert customers(s, before) == []
    assert len(s.sup.held) == 3
    rounds(s, 2, False, True)  # sight returns; the circuit is still down
    assert not s.sup.tracker.blind
    # the escalation's OPENED, and of the two reminders only the latest
    assert customers(s, before) == [("opened", (BOSS,)), ("reminder", (FAULT,))]
    [reminder] = s.sends(NoticeKind.REMINDER)
    assert reminder.notice.seq == 2
    assert len(s.sup.held) == 0


def test_an_outage_that_ends_while_blind_is_told_recovered_when_sight_returns() -> None:
    s = Story(plan(controls=(GW,)))
    rounds(s, 2, True, True)
    rounds(s, 3, False, True)
    rounds(s, 3, False, False)
    before = len(s.sends())
    rounds(s, 2, True, False)  # the circuit comes back while the monitor is blind
    assert s.sup.tracker.open_incident(h.CID) is None and s.sup.tracker.blind
    assert customers(s, before) == []
    rounds(s, 3, True, True)
    assert customers(s, before) == [("recovered", (FAULT,))]


def test_the_noc_is_still_warned_while_blind() -> None:
    """The notice deadline runs on while blind (the regulation makes no exception for it):
    the NOC's deadline-at-risk warning and the breach are not held."""
    s = Story(plan(controls=(GW,)))
    rounds(s, 2, True, True)
    rounds(s, 3, False, True)  # opened; its notice is never accepted in this story
    [o] = opened(s)
    rounds(s, 3, False, False)  # blind
    s.travel(21 * MIN)
    assert [x.recipients for x in s.sends(NoticeKind.DEADLINE_AT_RISK)] == [(NOC,)]
    assert not s.metric(MetricName.BREACHES)
    s.travel(10 * MIN)
    assert s.sup.tracker.blind and o.incident.notified is None
    assert s.metric(MetricName.BREACHES)


# -- §6.2 / §6.4: voided outages owe nothing; one that ended before its detection owes ---------


def test_a_voided_outage_owes_no_warning_and_no_breach() -> None:
    ap, as_, sp, ss = h.PATHS
    s = Story(replace(plan(), fail_after=1, recover_after=2))
    s.run(2, True)
    s.feed(path_probes(s.now, False, [ap, as_, sp]))
    s.feed(path_probes(s.now + S / 2, True, [ap]))  # active/primary's recovery run begins
    s.feed(path_probes(s.now + S, False, [ss]))  # the last path down: start = detection
    s.feed(path_probes(s.now + 3 * S / 2, True, [ap]))  # up since before the start: voided
    s.now += 2 * S
    [c] = closed(s)
    assert c.incident.voided
    s.now += 20 * MIN
    s.feed(Tick())  # raised InputError here (a deadline-at-risk notice with no deadline)
    s.now += 11 * MIN
    s.feed(Tick())
    assert not s.sends(NoticeKind.DEADLINE_AT_RISK)
    assert not s.metric(MetricName.BREACHES)


def test_an_outage_that_ended_before_its_detection_still_owes_its_notice() -> None:
    """Three paths down from T; active/primary fails from T+3 s (down since T+3 s, confirmed
    at T+5 s: start T+3 s, detection T+5 s). Active/secondary answers from T+4 s, confirmed
    at T+5 s just after: the outage is real (T+3 s to T+4 s), ended before its detection,
    and §6.4 gives it a deadline like any other. The ledger used to drop it ("ended before its
    clock"), so no notice went out while the report counted a breach."""
    ap, as_, sp, ss = h.PATHS
    s = Story()  # fail_after 3, recover_after 2
    s.run(3, True)
    t = s.now
    for k in range(6):
        s.feed(path_probes(t + k * S, k < 3, [ap]))  # fails from T+3 s
        s.feed(path_probes(t + k * S, k >= 4, [as_]))  # fails T..T+3 s, answers from T+4 s
        s.feed(path_probes(t + k * S, False, [sp, ss]))
    s.now = t + 6 * S
    s.feed(Tick())
    [o], [c] = opened(s), closed(s)
    assert (o.incident.start, o.incident.detected) == (t + 3 * S, t + 5 * S)
    assert c.incident.end == t + 4 * S and not c.incident.voided
    assert customers(s) == [("opened", (FAULT,)), ("recovered", (FAULT,))]


def test_an_end_moved_back_onto_the_start_voids_the_outage_and_its_deadline() -> None:
    """Active/secondary's recovery run began at the very send that began the last path's
    failures (results of one burst share their time), but was confirmed after active/primary
    had closed the outage: the end moves back onto the start, so the outage is voided and the
    ledger must stop watching its deadline (or the timer crashes as above)."""
    ap, as_, sp, ss = h.PATHS
    s = Story()  # fail_after 3, recover_after 2
    s.run(3, True)
    t = s.now
    for k in range(3):
        s.feed(path_probes(t + k * S, False, [ap, as_, sp]))  # down since T
    for k in range(3, 6):
        s.feed(path_probes(t + k * S, False, [ss]))  # the last: start T+3 s, detected T+5 s
    s.feed(path_probes(t + 6 * S, True, [ap]))
    s.feed(path_probes(t + 7 * S, True, [ap]))  # active/primary closes it: end T+6 s
    s.feed(path_probes(t + 3 * S, True, [as_]))  # active/secondary's results, late
    s.feed(path_probes(t + 4 * S, True, [as_]))  # up since T+3 s: the start
    assert [(x.amended, x.incident.voided) for x in closed(s)] == [(False, False), (True, True)]
    s.now = t + 8 * S
    s.travel(21 * MIN)
    s.travel(10 * MIN)
    assert not s.sends(NoticeKind.DEADLINE_AT_RISK)
    assert not s.metric(MetricName.BREACHES)
