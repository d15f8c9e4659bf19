"""The notification ledger: schedule, escalation, reminders, warning, breach, restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.deadlines import ActionKind, Group, Ledger, Policy, policy_groups

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

POLICY = Policy(
    groups=policy_groups(
        ["fault@cust.example"],
        [Group(name="escalation", after=15 * MIN, recipients=("boss@cust.example",))],
    ),
    noc=("noc@carrier.example",),
    warn_before=10 * MIN,
    reminder_every=60 * MIN,
)


def ledger(notified: bool = False, deadline: datetime = T0 + 30 * MIN) -> Ledger:
    led = Ledger()
    led.track(incident=7, circuit="c1", policy=POLICY, deadline=deadline, notified=notified)
    return led


def kinds(actions: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(a.kind.value, a.group) for a in actions]


def test_opened_to_primary_at_detection_then_escalation_after_15_min() -> None:
    led = ledger()
    assert kinds(led.due(T0)) == [("opened", "primary")]
    assert led.due(T0 + 14 * MIN) == []
    assert led.next_wakeup() == T0 + 15 * MIN
    assert kinds(led.due(T0 + 15 * MIN)) == [("opened", "escalation")]


def test_each_action_is_returned_once() -> None:
    led = ledger()
    first = led.due(T0 + 16 * MIN)
    assert kinds(first) == [("opened", "primary"), ("opened", "escalation")]
    assert led.due(T0 + 16 * MIN) == []


def test_warning_and_breach_when_no_notice_accepted() -> None:
    led = ledger()
    led.due(T0 + 16 * MIN)
    assert led.next_wakeup() == T0 + 20 * MIN
    warn = led.due(T0 + 20 * MIN)
    assert kinds(warn) == [("deadline-at-risk", "noc")]
    assert warn[0].recipients == ("noc@carrier.example",)
    # exactly at the deadline a notice is still in time: no breach yet
    assert led.due(T0 + 30 * MIN) == []
    breach = led.due(T0 + 30 * MIN + timedelta(seconds=1))
    assert kinds(breach) == [("breach", "noc")]


def test_accepted_notice_cancels_warning_and_breach() -> None:
    led = ledger()
    led.due(T0)
    led.notified(7)
    assert led.pending() == []
    assert kinds(led.due(T0 + 31 * MIN)) == [("opened", "escalation")]


def test_reminders_collapse_to_the_latest_after_a_long_gap() -> None:
    led = ledger(notified=True)
    actions = led.due(T0 + 185 * MIN)
    reminders = [a for a in actions if a.kind is ActionKind.REMINDER]
    assert [(r.seq, r.due) for r in reminders] == [(3, T0 + 180 * MIN)]
    assert reminders[0].key == "c1.7.reminder.primary.3"
    assert led.next_wakeup() == T0 + 240 * MIN


def test_recovered_goes_to_groups_that_were_told() -> None:
    led = ledger()
    led.due(T0 + 1 * MIN)
    recovered = led.close(7, T0 + 5 * MIN, owes=True)
    assert kinds(recovered) == [("recovered", "primary")]
    assert recovered[0].due == T0 + 5 * MIN
    # no notice accepted yet: the deadline is still watched, nothing else
    assert led.next_wakeup() == T0 + 20 * MIN
    led.notified(7)
    assert led.next_wakeup() is None and led.due(T0 + 99 * MIN) == []


def test_an_outage_closed_before_its_notice_went_out_still_owes_it() -> None:
    """The journal was unwritable (or the daemon busy) from detection to recovery: the ledger
    first hears of the incident and its end together. The OPENED was owed from the clock."""
    led = ledger()
    actions = led.close(7, T0 + 20 * MIN, owes=True)  # escalation's time (T0 + 15) came too
    assert kinds(actions) == [
        ("opened", "primary"),
        ("opened", "escalation"),
        ("recovered", "primary"),
        ("recovered", "escalation"),
    ]
    assert [a.due for a in actions[:2]] == [T0, T0 + 15 * MIN]
    short = ledger()
    assert kinds(short.close(7, T0 + 5 * MIN, owes=True)) == [
        ("opened", "primary"),
        ("recovered", "primary"),
    ]


def test_a_closed_incident_with_no_accepted_notice_still_breaches() -> None:
    led = ledger()
    led.due(T0)
    led.close(7, T0 + 5 * MIN, owes=True)
    assert kinds(led.due(T0 + 25 * MIN)) == [("deadline-at-risk", "noc")]
    assert kinds(led.due(T0 + 31 * MIN)) == [("breach", "noc")]
    assert led.next_wakeup() is None and led.pending() == []


def test_an_outage_ending_before_its_clock_owes_nothing() -> None:
    led = ledger(deadline=T0 + 150 * MIN)  # clock at T0 + 2 h (maintenance)
    assert led.close(7, T0 + 60 * MIN, owes=False) == [] and led.next_wakeup() is None


def test_no_deadline_means_nothing_owed() -> None:
    led = Ledger()
    led.track(incident=1, circuit="c1", policy=POLICY, deadline=None)
    assert led.due(T0 + 100 * MIN) == [] and led.next_wakeup() is None


def test_maintenance_moves_the_clock() -> None:
    # detection inside a window ending at T0+2h: the clock (and OPENED) starts there
    led = ledger(deadline=T0 + 150 * MIN)
    assert led.due(T0 + 119 * MIN) == []
    assert kinds(led.due(T0 + 120 * MIN)) == [("opened", "primary")]


def test_restart_rebuild_emits_same_keys() -> None:
    before = ledger().due(T0 + 16 * MIN)
    after = ledger().due(T0 + 16 * MIN)  # a fresh ledger after a restart
    assert [a.key for a in before] == [a.key for a in after]
