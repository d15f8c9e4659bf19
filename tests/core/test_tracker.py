"""The incident tracker (SLA.md §6.1, 6.2, 6.5): hysteresis, backdating, blindness, restart."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from monitor.core.assess import assess
from monitor.core.errors import InputError
from monitor.core.model import Interval, PathState
from monitor.core.paths import Hysteresis
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    Event,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    PathChanged,
    Tracker,
)
from tests.core.helpers import AP, AS, CID, MIN, PATHS, SP, SS, T0, feed, run, terms, tracker

S = timedelta(seconds=1)


def opened(events: list) -> list:  # type: ignore[type-arg]
    return [e.incident for e in events if isinstance(e, IncidentOpened)]


def closed(events: list) -> list:  # type: ignore[type-arg]
    return [e.incident for e in events if isinstance(e, IncidentClosed)]


# -- hysteresis ----------------------------------------------------------------------------
def test_blip_shorter_than_fail_after_changes_nothing() -> None:
    h = Hysteresis(fail_after=3, recover_after=2)
    assert h.observe(T0, True) is None
    assert h.observe(T0 + S, True) is not None  # up after 2
    assert h.observe(T0 + 2 * S, False) is None
    assert h.observe(T0 + 3 * S, False) is None
    assert h.observe(T0 + 4 * S, True) is None
    assert h.state is PathState.UP


def test_down_backdated_to_first_failure_up_to_first_success() -> None:
    h = Hysteresis(fail_after=3, recover_after=2)
    changes = [
        h.observe(T0 + i * S, ok)
        for i, ok in enumerate([False, False, False, False, True, True, True])
    ]
    down, up = (c for c in changes if c is not None)
    assert (down.state, down.since, down.at) == (PathState.DOWN, T0, T0 + 2 * S)
    assert (up.state, up.since, up.at) == (PathState.UP, T0 + 4 * S, T0 + 5 * S)


@pytest.mark.parametrize(("fail_after", "recover_after"), [(1, 1), (5, 3), (2, 4)])
def test_other_thresholds(fail_after: int, recover_after: int) -> None:
    h = Hysteresis(fail_after=fail_after, recover_after=recover_after)
    results = [h.observe(T0 + i * S, False) for i in range(fail_after)]
    assert results[-1] is not None and all(r is None for r in results[:-1])
    results = [h.observe(T0 + (10 + i) * S, True) for i in range(recover_after)]
    assert results[-1] is not None and results[-1].since == T0 + 10 * S


def test_out_of_order_result_is_refused() -> None:
    h = Hysteresis(fail_after=3, recover_after=2)
    h.observe(T0 + S, True)
    with pytest.raises(InputError):
        h.observe(T0, True)


def test_unknown_is_not_down() -> None:
    t = tracker()
    events = run(t, T0, 5, False, paths=[AP, AS, SP])  # SS never probed: unknown
    assert opened(events) == []


# -- circuit logic ---------------------------------------------------------------------------
def test_staggered_failures_start_at_the_last_path_detected_when_confirmed() -> None:
    t = tracker()
    run(t, T0, 2, True)
    events = []
    for i, p in enumerate(PATHS):  # paths start failing 1 min apart
        events += run(t, T0 + (5 + i) * MIN, 10 - i, False, paths=[p])
    incident = opened(events)[0]
    assert incident.start == T0 + 8 * MIN  # when SS, the last path, began to fail
    assert incident.detected == T0 + 10 * MIN  # its 3rd failure confirmed it


def test_two_of_four_down_is_no_incident() -> None:
    t = tracker()
    events = run(t, T0, 10, False, paths=[AP, SS]) + run(t, T0, 10, True, paths=[AS, SP])
    assert opened(events) == []
    assert t.open_incident("er-tokyo-1") is None


def test_end_is_the_first_recovering_paths_up_since() -> None:
    t = tracker()
    run(t, T0, 2, True)
    events = run(t, T0 + 2 * MIN, 40, False)
    events += run(t, T0 + 42 * MIN, 2, True, paths=[SP])
    c = closed(events)[0]
    assert c.start == T0 + 2 * MIN and c.end == T0 + 42 * MIN
    a = assess(c, terms(), now=T0 + 50 * MIN)
    assert a.duration_s == 40 * 60 and a.credit == Fraction(1, 90)


def test_recovery_run_that_began_before_the_start_voids_the_outage() -> None:
    t = tracker()
    run(t, T0, 2, True)
    run(t, T0 + MIN, 3, False, paths=[AP, AS, SP])  # three paths down
    feed(t, T0 + 4 * MIN, False, [AP, AS, SP])
    feed(t, T0 + 4 * MIN, True, [SS])  # SS healthy so far
    feed(t, T0 + 5 * MIN, False, [SS])  # SS starts failing at 5
    feed(t, T0 + 5 * MIN, True, [AP])  # AP's recovery run starts at 5
    feed(t, T0 + 6 * MIN, False, [SS])
    events = feed(t, T0 + 7 * MIN, False, [SS])  # SS down: all down, start 5
    incident = opened(events)[0]
    assert incident.start == T0 + 5 * MIN
    events = feed(t, T0 + 7 * MIN, True, [AP])  # AP up since 5 = the start
    c = closed(events)[0]
    assert c.end == c.start and c.voided
    a = assess(c, terms(), now=T0 + 8 * MIN)
    assert a.duration_s == 0 and a.credit == 0
    later = assess(c, terms(), now=T0 + 5 * 60 * MIN)  # never notified, hours on
    assert later.notify_deadline is None and not later.notify_breach


def test_the_first_probe_result_of_a_circuit_is_an_event_once() -> None:
    t = tracker()
    [first] = feed(t, T0, True, [AP])
    assert first == MonitoringStarted(circuit=CID, at=T0)
    later = feed(t, T0 + MIN, True, [AP, AS])
    assert not [e for e in later if isinstance(e, MonitoringStarted)]
    assert t.first_seen(CID) == T0
    restarted = tracker()
    restarted.restore_first_seen(CID, T0)
    assert not feed(restarted, T0 + MIN, True)  # restored: not the first again


def test_notices() -> None:
    t = tracker()
    run(t, T0, 3, False)
    incident = t.open_incident("er-tokyo-1")
    assert incident is not None
    first = t.notified("er-tokyo-1", T0 + 10 * MIN)
    assert isinstance(first[0], IncidentNotified)
    assert t.notified("er-tokyo-1", T0 + 11 * MIN) == ()  # the first acceptance is kept
    assert t.open_incident("er-tokyo-1").notified == T0 + 10 * MIN  # type: ignore[union-attr]


def test_notice_after_close_attaches_to_latest_unnotified() -> None:
    t = tracker()
    run(t, T0, 3, False)
    run(t, T0 + 3 * MIN, 2, True)
    events = t.notified("er-tokyo-1", T0 + 20 * MIN)
    assert events[0].incident.notified == T0 + 20 * MIN  # type: ignore[union-attr]
    assert t.notified("er-tokyo-1", T0 + 21 * MIN) == ()


def test_notice_naming_its_incident() -> None:
    t = tracker()
    run(t, T0, 3, False)
    run(t, T0 + 3 * MIN, 2, True)
    run(t, T0 + 10 * MIN, 3, False)
    first, second = t.incidents("er-tokyo-1")
    events = t.notified("er-tokyo-1", T0 + 14 * MIN, incident=first.id)
    assert events[0].incident.id == first.id  # type: ignore[union-attr]
    assert t.open_incident("er-tokyo-1").notified is None  # type: ignore[union-attr]
    assert second.id != first.id


def test_late_and_missing_notices_breach() -> None:
    t = tracker()
    run(t, T0, 3, False)  # detected at T0 + 2 min
    incident = t.open_incident("er-tokyo-1")
    assert incident is not None
    pending = assess(incident, terms(), now=T0 + 20 * MIN)
    assert pending.notify_deadline == T0 + 32 * MIN and not pending.notify_breach
    missing = assess(incident, terms(), now=T0 + 33 * MIN)
    assert missing.notify_breach and missing.notify_credit == Fraction(1, 30)
    t.notified("er-tokyo-1", T0 + 40 * MIN)
    late = assess(t.open_incident("er-tokyo-1"), terms(), now=T0 + 50 * MIN)  # type: ignore[arg-type]
    assert late.notify_breach


def test_unknown_path_and_circuit_are_input_errors() -> None:
    t = tracker()
    from monitor.core.model import PathKey

    with pytest.raises(InputError):
        t.observe(PathKey.parse("nope", "active/primary"), T0, True)
    with pytest.raises(InputError):
        PathKey.parse("c", "active-primary")
    with pytest.raises(InputError):
        t.notified("nope", T0)


# -- blindness ---------------------------------------------------------------------------
def test_blind_monitor_opens_nothing_until_sight_returns() -> None:
    t = tracker(controls=["gw"])
    run(t, T0, 2, True)
    for i in range(2):
        t.observe_control("gw", T0 + i * MIN, True)
    events = []
    for i in range(3):  # control fails from T0+2 min: blind from there
        events += t.observe_control("gw", T0 + (2 + i) * MIN, False)
    assert any(isinstance(e, BlindStarted) for e in events)
    events = run(t, T0 + 3 * MIN, 5, False)  # paths fail from T0+3 min while blind
    assert opened(events) == [] and t.blind
    events = []
    for i in range(2):  # sight returns: control ok from T0+10 min, confirmed T0+11
        events += t.observe_control("gw", T0 + (10 + i) * MIN, True)
    ended = next(e for e in events if isinstance(e, BlindEnded))
    assert ended.interval.start == T0 + 2 * MIN and ended.interval.end == T0 + 10 * MIN
    incident = opened(events)[0]
    assert incident.start == T0 + 3 * MIN and incident.detected == T0 + 11 * MIN
    events = run(t, T0 + 20 * MIN, 2, True)
    c = closed(events)[0]
    a = assess(c, terms(), now=T0 + 30 * MIN, blind=t.blind_spans())
    assert a.blind_s == 7 * 60 and a.duration_s == 17 * 60


def test_incident_open_before_blindness_stays_open() -> None:
    t = tracker(controls=["gw"])
    t.observe_control("gw", T0, True)
    t.observe_control("gw", T0 + S, True)
    run(t, T0, 3, False)
    assert t.open_incident("er-tokyo-1") is not None
    for i in range(3):
        t.observe_control("gw", T0 + (5 + i) * MIN, False)
    assert t.blind and t.open_incident("er-tokyo-1") is not None


def test_outage_that_ends_while_blind_is_never_opened() -> None:
    t = tracker(controls=["gw"])
    for i in range(3):
        t.observe_control("gw", T0 + i * S, False)
    events = run(t, T0, 5, False) + run(t, T0 + 5 * MIN, 2, True)
    for i in range(2):
        events += t.observe_control("gw", T0 + (10 + i) * MIN, True)
    assert opened(events) == []


MS = timedelta(milliseconds=1)


def isolated(t: Tracker, rounds: int, control: list[bool]) -> list[Event]:
    """1 s rounds: the paths probed at .000, the control target at .600 (``control``: its
    results, round by round, as many as given). The paths fail from round 1: their third
    failure, at 3.0 s, confirms them down."""
    events: list[Event] = []
    for i in range(rounds):
        events += feed(t, T0 + i * S, i < 1)
        if i < len(control):
            events += t.observe_control("gw", T0 + i * S + 600 * MS, control[i])
    return events


def test_the_noc_isolated_just_after_a_control_probe_opens_no_outage() -> None:
    """The NOC's own uplink fails at 0.7 s, just after a control probe: the paths' third
    failure comes first, when the control target's failures are not yet enough to call it
    down, so the outage waits. The control goes down, backdated to 1.6 s, before the paths'
    detection (3.0 s): the monitor was blind then (§6.5). Before, the customer was told."""
    t = tracker(controls=["gw"])
    events = isolated(t, 4, [True, False, False, False])
    assert opened(events) == [] and t.blind and t.blind_since == T0 + 1600 * MS
    events = run(t, T0 + 5 * S, 3, False, step=S)
    for i in range(2):  # sight returns from 9.6 s, confirmed at 10.6 s; the paths still down
        events += t.observe_control("gw", T0 + (9 + i) * S + 600 * MS, True)
    [incident] = opened(events)
    assert incident.start == T0 + S and incident.detected == T0 + 10600 * MS


def test_an_outage_waiting_on_one_lost_control_probe_opens_as_it_would_have() -> None:
    """One control echo lost at the moment the paths are confirmed down: the outage waits
    for the control's next result, then opens with its own start and detection."""
    t = tracker(controls=["gw"])
    events = isolated(t, 4, [True, True, False])
    assert opened(events) == [] and not t.blind
    events = t.observe_control("gw", T0 + 3600 * MS, True)
    [incident] = opened(list(events))
    assert incident.start == T0 + S and incident.detected == T0 + 3 * S


def test_an_outage_that_ended_while_waiting_opens_and_closes() -> None:
    t = tracker(controls=["gw"])
    isolated(t, 4, [True, True, False])
    events = feed(t, T0 + 3100 * MS, True) + feed(t, T0 + 3200 * MS, True)  # back at 3.1 s
    assert closed(events) == []
    events = list(t.observe_control("gw", T0 + 3600 * MS, True))
    [incident] = closed(events)
    assert [(i.id, i.end) for i in opened(events)] == [(incident.id, None)]
    assert (incident.start, incident.detected, incident.end) == (
        T0 + S, T0 + 3 * S, T0 + 3100 * MS,
    )  # fmt: skip


def test_removing_the_control_target_in_doubt_opens_what_waited() -> None:
    t = tracker(controls=["gw"])
    isolated(t, 4, [True, True, False])
    [incident] = opened(list(t.set_controls([], T0 + 4 * S)))
    assert incident.start == T0 + S and incident.detected == T0 + 3 * S


def test_the_blind_spell_is_every_down_target_s_from_the_first_down_to_the_last_back() -> None:
    """Two control targets probed at different rates: gw2 (every 10 s) down since 0 s but
    confirmed at 20 s, gw1 (every second) down from 5 s (confirmed 7 s). gw2 answers from
    30 s (confirmed 40 s), gw1 from 35 s (confirmed 36 s). The spell began at 0 s, not at
    gw1's 5 s (the first confirmed), and ended at 35 s, when the last target down answered,
    not at gw2's 30 s (the last confirmed); a second review found both."""
    t = tracker(controls=["gw1", "gw2"])
    for n in range(3):
        t.observe_control("gw1", T0 + (5 + n) * S, False)  # down since 5 s, at 7 s
    assert t.blind and t.blind_since == T0 + 5 * S
    for n in range(3):
        t.observe_control("gw2", T0 + n * 10 * S, False)  # 0, 10, 20 s: down since 0 s
    assert t.blind_since == T0
    events = list(t.observe_control("gw2", T0 + 30 * S, True))
    for n in range(2):
        events += t.observe_control("gw1", T0 + (35 + n) * S, True)  # back since 35 s
    assert t.blind and not [e for e in events if isinstance(e, BlindEnded)]
    events += t.observe_control("gw2", T0 + 40 * S, True)  # back since 30 s, at 40 s
    [ended] = [e for e in events if isinstance(e, BlindEnded)]
    assert ended.interval == Interval(start=T0, end=T0 + 35 * S)


# -- restart -----------------------------------------------------------------------------
def test_restore_keeps_the_open_incident_and_its_start() -> None:
    t = tracker()
    run(t, T0, 3, False)
    incident = t.open_incident("er-tokyo-1")
    assert incident is not None
    fresh = tracker()
    for p in PATHS:
        fresh.restore_path(p, *t.path_state(p))
    fresh.restore_incident(incident)
    events = run(fresh, T0 + 30 * MIN, 2, True)
    c = closed(events)[0]
    assert c.id == incident.id and c.start == T0 and c.end == T0 + 30 * MIN
    run(fresh, T0 + 40 * MIN, 3, False)
    assert fresh.open_incident("er-tokyo-1").id == incident.id + 1  # type: ignore[union-attr]


def test_path_changed_events_carry_backdated_times() -> None:
    t = tracker()
    events = run(t, T0, 3, False, paths=[AP])
    change = next(e for e in events if isinstance(e, PathChanged))
    assert change.path == AP and change.change.since == T0 and change.change.at == T0 + 2 * MIN


def test_removing_the_down_control_target_ends_blindness() -> None:
    """A reload that drops a control target that is down: sight returns at the reload."""
    t = tracker(controls=["gw", "gw2"])
    for i in range(3):
        t.observe_control("gw", T0 + i * MIN, False)
    assert t.blind and t.blind_since == T0
    run(t, T0 + 3 * MIN, 5, False)  # every path down while blind: no incident yet
    assert t.set_controls(["gw", "gw2", "gw3"], T0 + 9 * MIN) == ()  # gw still down
    assert t.blind and t.control_state("gw3")[0] is PathState.UNKNOWN
    events = list(t.set_controls(["gw2"], T0 + 10 * MIN))
    ended = next(e for e in events if isinstance(e, BlindEnded))
    assert ended.interval.start == T0 and ended.interval.end == T0 + 10 * MIN
    [incident] = opened(events)  # the paths are still down: the outage is opened now
    assert incident.start == T0 + 3 * MIN and incident.detected == T0 + 10 * MIN
    assert not t.blind and t.set_controls([], T0 + 11 * MIN) == ()


def test_the_outage_ends_at_the_earliest_up_since_whichever_path_is_confirmed_first() -> None:
    """§6.2: the outage ends at the ``up_since`` of the first path to come back. Active/
    secondary answered from T0+9 s, but its confirming result came after active/primary's
    (up since T0+10 s), which closed the outage: the end moves back to T0+9 s, an amendment
    (the same as when a peer's earlier recovery arrives late)."""
    t = tracker()
    feed(t, T0, True)
    run(t, T0 + S, 3, False, step=S)
    assert t.open_incident(CID) is not None
    t.observe(AP, T0 + 10 * S, True)
    [closing] = t.observe(AP, T0 + 11 * S, True)[1:]
    assert isinstance(closing, IncidentClosed) and closing.incident.end == T0 + 10 * S
    t.observe(AS, T0 + 9 * S, True)  # handed on late
    events = t.observe(AS, T0 + 12 * S, True)
    amended = [e for e in events if isinstance(e, IncidentClosed)]
    assert [(e.amended, e.incident.end) for e in amended] == [(True, T0 + 9 * S)]
    [last] = t.incidents(CID)
    assert last.end == T0 + 9 * S
    # a path back after the end changes nothing
    assert not [e for e in t.observe(SP, T0 + 13 * S, True) if isinstance(e, IncidentClosed)]
