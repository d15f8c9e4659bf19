"""A start owes what a closed incident's close owed and the outbox does not hold: the notices a
crash cut off between the close's record and its outbox rows, and those held while blind when
the daemon stopped (deadlines.py ``Ledger.resume_closed``, owing.py ``_reowe``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from monitor.core.deadlines import Ledger
from monitor.core.effects import Send
from monitor.core.inputs import Control, Probed, Resume
from monitor.core.model import Interval, MaintenanceWindow, PathState, ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ControlPlan
from monitor.core.supervisor import Supervisor
from tests.core.helpers import MIN, T0
from tests.core.test_deadlines import POLICY
from tests.core.test_supervisor import (
    BOSS,
    FAULT,
    NOC,
    S,
    Story,
    circuit,
    closed,
    opened,
    plan,
    probes,
)

DEADLINE = T0 + 30 * MIN
DAY = 24 * 60 * MIN


def rows(*stored: tuple[str, str | None]) -> dict[tuple[str, str | None], frozenset[str]]:
    """Notices stored whole: (kind, group) -> the group's recipients in POLICY."""
    who = {g.name: frozenset(g.recipients) for g in POLICY.groups}
    return {
        (kind, group): who.get(group or "", frozenset({"x@old.example"})) for kind, group in stored
    }


def resume(
    led: Ledger,
    stored: dict[tuple[str, str | None], frozenset[str]],
    *,
    end: datetime = T0 + 20 * MIN,
    deadline: datetime | None = DEADLINE,
    notified: bool = False,
    now: datetime = T0 + 40 * MIN,
) -> list[tuple[str, str]]:
    actions = led.resume_closed(
        incident=7, circuit="c1", policy=POLICY, deadline=deadline, end=end,
        notified=notified, stored=stored, now=now,
    )  # fmt: skip
    return [(a.kind.value, a.group) for a in actions]


def test_a_close_cut_off_after_its_opening_owes_the_rest() -> None:
    # escalation's time (T0 + 15 min) came before the end (T0 + 20 min): it is owed too
    assert resume(Ledger(), rows(("opened", "primary"))) == [
        ("opened", "escalation"),
        ("recovered", "primary"),
        ("recovered", "escalation"),
    ]
    assert resume(Ledger(), rows(("opened", "primary")), end=T0 + 5 * MIN) == [
        ("recovered", "primary"),
    ]


def test_only_what_the_outbox_lacks_is_owed() -> None:
    stored = [("opened", "primary"), ("opened", "escalation"), ("recovered", "primary")]
    assert resume(Ledger(), rows(*stored)) == [("recovered", "escalation")]
    assert resume(Ledger(), rows(*stored, ("recovered", "escalation"))) == []


def test_a_language_missing_from_a_stored_notice_is_owed() -> None:
    """A group's notice is a row per language: the rows a crash left out are owed."""
    ja_only = {**rows(("opened", "primary")), ("recovered", "primary"): frozenset()}
    assert resume(Ledger(), ja_only, end=T0 + 5 * MIN) == [("recovered", "primary")]
    opened_in_part = {("opened", "primary"): frozenset()}
    assert resume(Ledger(), opened_in_part, end=T0 + 5 * MIN) == [
        ("opened", "primary"),
        ("recovered", "primary"),
    ]


def test_a_carried_out_close_owes_no_group_added_since() -> None:
    # told OPENED and RECOVERED before the escalation group existed: it is not told now
    stored = rows(("opened", "primary"), ("recovered", "primary"))
    assert resume(Ledger(), stored) == []


def test_a_close_with_no_opening_stored_is_left_alone() -> None:
    """It owed nothing then (ended inside maintenance, voided): a window withdrawn or a
    policy changed since must not make it owe now."""
    assert resume(Ledger(), {}) == []
    assert resume(Ledger(), {}, deadline=None) == []


def test_an_incident_owing_no_notice_gets_only_the_recoveries_its_openings_call_for() -> None:
    assert resume(Ledger(), rows(("opened", "primary")), deadline=None) == [
        ("recovered", "primary")
    ]


def test_notices_stored_before_groups_were_count_for_the_groups_sharing_their_recipients() -> None:
    """Rows of a journal before schema 6 have no group: a recipient who holds a notice is
    not sent it again, and one who holds none of an incident's is not told of it now."""
    fault, boss = frozenset({"fault@cust.example"}), frozenset({"boss@cust.example"})
    assert resume(Ledger(), {("opened", None): fault}) == [
        ("opened", "escalation"),
        ("recovered", "primary"),
        ("recovered", "escalation"),
    ]
    assert resume(Ledger(), {("opened", None): fault | boss, ("recovered", None): fault}) == [
        ("recovered", "escalation")
    ]
    both = {("opened", None): fault | boss, ("recovered", None): fault | boss}
    assert resume(Ledger(), both) == []
    assert resume(Ledger(), {("opened", None): frozenset({"gone@old.example"})}) == []


def test_the_deadline_stays_watched_only_while_it_is_ahead() -> None:
    opening = ("opened", "primary")
    for stored in (rows(opening), rows(opening, ("recovered", "primary"))):
        ahead = Ledger()
        resume(ahead, stored, end=T0 + 5 * MIN, now=T0 + 6 * MIN)
        assert ahead.next_wakeup() == DEADLINE - POLICY.warn_before
        assert [a.kind.value for a in ahead.due(DEADLINE + S)] == ["deadline-at-risk", "breach"]
    passed = Ledger()  # the run that saw the deadline pass logged the breach
    resume(passed, rows(("opened", "primary")), end=T0 + 5 * MIN, now=T0 + 40 * MIN)
    assert passed.next_wakeup() is None and passed.pending() == []
    told = Ledger()
    stored = rows(("opened", "primary"))
    resume(told, stored, end=T0 + 5 * MIN, now=T0 + 6 * MIN, notified=True)
    assert told.next_wakeup() is None


def outage(s: Story) -> None:
    """Three rounds down, then up until the incident closes."""
    s.run(3, False)
    s.run(2, True)


def told(incident: int, *kinds: str) -> dict[int, dict[tuple[str, str | None], frozenset[str]]]:
    """The outbox holds these notices of ``incident`` to the designated contacts."""
    return {incident: {(kind, "primary"): frozenset({FAULT}) for kind in kinds}}


def test_a_restart_sends_the_recovery_a_crash_kept_from_the_outbox() -> None:
    s = Story()
    outage(s)
    [c] = closed(s)
    stored = told(c.incident.id, "opened")  # RECOVERED never stored
    again = Story(resume=Resume(incidents=(c.incident,), notices=stored), now=s.now + MIN)
    [rec] = again.sends()
    assert rec.notice.kind is NoticeKind.RECOVERED and rec.recipients == (FAULT,)
    assert rec.notice.incident == c.incident.id and rec.notice.end == c.incident.end
    # a second restart finds it stored: nothing again
    both = told(c.incident.id, "opened", "recovered")
    assert not Story(resume=Resume(incidents=(c.incident,), notices=both)).sends()


def test_a_restart_leaves_old_closes_removals_and_standbys_alone() -> None:
    s = Story()
    outage(s)
    [c] = closed(s)
    stored = told(c.incident.id, "opened")
    week = Story(resume=Resume(incidents=(c.incident,), notices=stored), now=s.now + 8 * DAY)
    assert not week.sends()
    day = Story(resume=Resume(incidents=(c.incident,), notices=stored), now=s.now + DAY)
    assert [x.notice.kind for x in day.sends()] == [NoticeKind.RECOVERED]
    standby = Supervisor(plan(), Resume(incidents=(c.incident,), notices=stored), node="b",
                         leading=False)  # fmt: skip
    assert not [e for e in standby.start(s.now + MIN) if isinstance(e, Send)]
    gone = Story(plan(circuit("er-osaka-2")), Resume(incidents=(c.incident,), notices=stored))
    assert not gone.sends()


def test_an_incident_closed_for_a_removed_circuit_is_not_told_when_it_returns() -> None:
    """A start closed it, its circuit no longer configured ("no notice"); the circuit is back
    at the next start: that close was carried out, nobody is told of it now. (Review.)"""
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    gone = Story(plan(circuit("er-osaka-2")), Resume(incidents=(o.incident,)), now=s.now + MIN)
    [c] = closed(gone)
    back = Story(plan(), Resume(incidents=(c.incident,), notices=told(o.incident.id, "opened")))
    assert not back.sends()


def test_planned_work_is_not_told_after_its_window_is_withdrawn() -> None:
    """Down and back inside a configured window: nothing owed, nothing sent. The window is
    pruned from the configuration and the daemon restarts the next day: still nothing (a
    reload never sent anything either). (Review.)"""
    window = MaintenanceWindow(start=T0 - 10 * MIN, end=T0 + 60 * MIN)
    c = circuit()
    s = Story(plan(replace(c, terms=replace(c.terms, maintenance=(window,)))))
    outage(s)
    [c1] = closed(s)
    assert not s.sends()
    pruned = Story(plan(circuit()), Resume(incidents=(c1.incident,)), now=s.now + DAY)
    assert not pruned.sends()


def gateway(s: Story, ok: bool, rounds: int) -> None:
    """``rounds`` results of the control target, a second apart."""
    for _ in range(rounds):
        s.feed(Probed.of([(Control(name="noc-gw"), ProbeResult(target="gw", at=s.now, ok=ok))]))
        s.now += S


def test_a_recovery_held_while_blind_is_sent_after_a_restart_once_sight_returns() -> None:
    p = plan(circuit(), controls=(ControlPlan(name="noc-gw", address="gw"),))
    s = Story(p)
    s.run(3, False)
    [first] = s.sends(NoticeKind.OPENED)
    gateway(s, False, 3)
    assert s.sup.tracker.blind
    s.run(2, True)
    [c] = closed(s)
    assert not s.sends(NoticeKind.RECOVERED)  # held (§6.5), and lost with the process
    down = {"noc-gw": (PathState.DOWN, s.now - 5 * S)}
    stored = told(c.incident.id, "opened")
    again = Story(p, Resume(incidents=(c.incident,), controls=down, notices=stored), s.now + MIN)
    assert again.sup.tracker.blind  # still blind: held again; the NOC is told it is blind
    assert [(x.notice.kind, x.recipients) for x in again.sends()] == [(NoticeKind.BLIND, (NOC,))]
    gateway(again, True, 2)
    [rec] = again.sends(NoticeKind.RECOVERED)
    assert rec.recipients == first.recipients == (FAULT,)
    assert rec.notice.incident == c.incident.id and BOSS not in rec.recipients


def test_held_notices_go_out_in_the_order_they_were_owed() -> None:
    """Escalated while blind at minute 15; the outage had ended a second before (confirmed a
    result later, so its end is backdated before the escalation): the escalation group is told
    OPENED before RECOVERED, not the other way round (sorting by due put the backdated
    recovery first; and a crash between them left the OPENED unowed: its close looked
    carried out)."""
    p = plan(circuit(), controls=(ControlPlan(name="noc-gw", address="gw"),))
    s = Story(p)
    s.run(3, False)
    [first] = s.sends(NoticeKind.OPENED)
    clock = first.notice.detected
    assert clock is not None
    gateway(s, False, 3)
    s.travel(clock + 15 * MIN - S - s.now)
    s.feed(probes(s.now, True))  # up since now (confirmed by the next result)
    s.travel(S)  # minute 15: the escalation's OPENED is owed, and held
    s.feed(probes(s.now, True))
    [c] = closed(s)
    assert c.incident.end == clock + 15 * MIN - S
    gateway(s, True, 2)
    told = [(x.notice.kind, x.notice.group) for x in s.sends() if x.notice.group == "escalation"]
    assert told == [(NoticeKind.OPENED, "escalation"), (NoticeKind.RECOVERED, "escalation")]


def test_a_start_offers_the_noc_s_blind_notices_again() -> None:
    """A crash right after the journal took a blind spell's start (or end) kept its notice
    from the outbox: a start offers them again, under the same Message-ID (by ``since``), so
    the outbox keeps one of each. (A chaos run lost a "sight back" this way.)"""
    p = plan(circuit(), controls=(ControlPlan(name="noc-gw", address="gw"),))
    since = T0 - 5 * MIN
    still = Story(p, Resume(controls={"noc-gw": (PathState.DOWN, since)}))
    [blind] = still.sends()
    assert blind.notice.kind is NoticeKind.BLIND and blind.notice.blind_since == since
    spell = Interval(start=since, end=T0 - MIN)
    over = Story(p, Resume(blind=(spell,)))
    kinds = [(x.notice.kind, x.notice.blind_since, x.notice.end) for x in over.sends()]
    assert kinds == [(NoticeKind.BLIND, since, None), (NoticeKind.BLIND_ENDED, since, spell.end)]
    assert not Story(p, Resume(blind=(spell,)), now=spell.end + 61 * MIN).sends()
    standby = Supervisor(p, Resume(blind=(spell,)), node="b", leading=False)
    assert not [e for e in standby.start(T0) if isinstance(e, Send)]
