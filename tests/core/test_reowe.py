"""A start owes what a closed incident's close owed and the outbox does not hold: the notices a
crash cut off between the close's record and its outbox rows, and those held while blind when
the daemon stopped (deadlines.py ``Ledger.resume_closed``, owing.py ``_reowe``)."""

from __future__ import annotations

from datetime import datetime

from monitor.core.deadlines import Ledger
from monitor.core.effects import Send
from monitor.core.inputs import Control, Probed, Resume
from monitor.core.model import PathState, ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ControlPlan
from monitor.core.supervisor import Supervisor
from tests.core.helpers import MIN, T0
from tests.core.test_deadlines import POLICY
from tests.core.test_supervisor import BOSS, FAULT, S, Story, circuit, closed, plan

DEADLINE = T0 + 30 * MIN


def resume(
    led: Ledger,
    stored: list[tuple[str, str | None]],
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


def test_a_close_that_reached_no_outbox_row_is_owed_whole() -> None:
    # escalation's time (T0 + 15 min) came before the end (T0 + 20 min): it is owed too
    assert resume(Ledger(), []) == [
        ("opened", "primary"),
        ("opened", "escalation"),
        ("recovered", "primary"),
        ("recovered", "escalation"),
    ]
    assert resume(Ledger(), [], end=T0 + 5 * MIN) == [
        ("opened", "primary"),
        ("recovered", "primary"),
    ]


def test_only_what_the_outbox_lacks_is_owed() -> None:
    stored = [("opened", "primary"), ("opened", "escalation"), ("recovered", "primary")]
    assert resume(Ledger(), stored) == [("recovered", "escalation")]
    assert resume(Ledger(), [("opened", "primary")], end=T0 + 5 * MIN) == [("recovered", "primary")]
    everything = [*stored, ("recovered", "escalation")]
    assert resume(Ledger(), everything) == []


def test_a_carried_out_close_owes_no_group_added_since() -> None:
    # told OPENED and RECOVERED before the escalation group existed: it is not told now
    stored = [("opened", "primary"), ("recovered", "primary")]
    assert resume(Ledger(), stored) == []


def test_an_incident_owing_no_notice_gets_only_the_recoveries_its_openings_call_for() -> None:
    assert resume(Ledger(), [], deadline=None) == []
    assert resume(Ledger(), [("opened", "primary")], deadline=None) == [("recovered", "primary")]


def test_notices_stored_before_groups_were_owe_nothing() -> None:
    assert resume(Ledger(), [("opened", None)]) == []


def test_the_deadline_stays_watched_only_while_it_is_ahead() -> None:
    ahead = Ledger()
    resume(ahead, [], end=T0 + 5 * MIN, now=T0 + 6 * MIN)
    assert ahead.next_wakeup() == DEADLINE - POLICY.warn_before
    assert [a.kind.value for a in ahead.due(DEADLINE + S)] == ["deadline-at-risk", "breach"]
    passed = Ledger()
    resume(passed, [], end=T0 + 5 * MIN, now=T0 + 40 * MIN)  # the run that saw it logged it
    assert passed.next_wakeup() is None and passed.pending() == []
    told = Ledger()
    resume(told, [("opened", "primary")], end=T0 + 5 * MIN, now=T0 + 6 * MIN, notified=True)
    assert told.next_wakeup() is None


def outage(s: Story) -> None:
    """Three rounds down, then up until the incident closes."""
    s.run(3, False)
    s.run(2, True)


def test_a_restart_sends_the_recovery_a_crash_kept_from_the_outbox() -> None:
    s = Story()
    outage(s)
    [c] = closed(s)
    stored = frozenset({(c.incident.id, "opened", "primary")})  # RECOVERED never stored
    again = Story(resume=Resume(incidents=(c.incident,), notices=stored), now=s.now + MIN)
    [rec] = again.sends()
    assert rec.notice.kind is NoticeKind.RECOVERED and rec.recipients == (FAULT,)
    assert rec.notice.incident == c.incident.id and rec.notice.end == c.incident.end
    # a second restart finds it stored: nothing again
    both = stored | {(c.incident.id, "recovered", "primary")}
    assert not Story(resume=Resume(incidents=(c.incident,), notices=both)).sends()


def test_a_restart_leaves_old_closes_and_standbys_alone() -> None:
    s = Story()
    outage(s)
    [c] = closed(s)
    week = Story(resume=Resume(incidents=(c.incident,)), now=s.now + 8 * 24 * 60 * MIN)
    assert not week.sends()
    day = Story(resume=Resume(incidents=(c.incident,)), now=s.now + 24 * 60 * MIN)
    assert [x.notice.kind for x in day.sends()] == [NoticeKind.OPENED, NoticeKind.RECOVERED]
    standby = Supervisor(plan(), Resume(incidents=(c.incident,)), node="b", leading=False)
    assert not [e for e in standby.start(s.now + MIN) if isinstance(e, Send)]
    gone = Story(plan(circuit("er-osaka-2")), Resume(incidents=(c.incident,)), now=s.now)
    assert not gone.sends()


def gateway(s: Story, ok: bool, rounds: int) -> None:
    """``rounds`` results of the control target, a second apart."""
    for _ in range(rounds):
        s.feed(Probed.of([(Control(name="noc-gw"), ProbeResult(target="gw", at=s.now, ok=ok))]))
        s.now += S


def test_a_recovery_held_while_blind_is_sent_after_a_restart_once_sight_returns() -> None:
    p = plan(circuit(), controls=(ControlPlan(name="noc-gw", address="gw"),))
    s = Story(p)
    s.run(3, False)
    [opened] = s.sends(NoticeKind.OPENED)
    gateway(s, False, 3)
    assert s.sup.tracker.blind
    s.run(2, True)
    [c] = closed(s)
    assert not s.sends(NoticeKind.RECOVERED)  # held (§6.5), and lost with the process
    down = {"noc-gw": (PathState.DOWN, s.now - 5 * S)}
    stored = frozenset({(c.incident.id, "opened", "primary")})
    again = Story(p, Resume(incidents=(c.incident,), controls=down, notices=stored), s.now + MIN)
    assert again.sup.tracker.blind and not again.sends()  # still blind: held again
    gateway(again, True, 2)
    [rec] = again.sends(NoticeKind.RECOVERED)
    assert rec.recipients == opened.recipients == (FAULT,)
    assert rec.notice.incident == c.incident.id and BOSS not in rec.recipients
