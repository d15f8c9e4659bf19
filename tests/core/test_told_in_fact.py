"""A start takes an incident's notification time from the relays' acceptances when the
journal lacks it (SLA.md §6.4: the first acceptance for a designated contact).

Found by running two NOC hosts (tests/e2e/test_notified_takeover.py): the leader's relay
accepted the opened notice, the leader lost its lease before writing the notified fact (a
leader's fact: refused), and its write-down of the delivery reached the journal before the
new leader claimed the row. The new leader resumed the incident as never notified, sent
nothing again (the row was done) and, 30 minutes from detection, counted a notification
breach, 1/30 of the monthly charges, that the journal's deliveries disprove.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.effects import Log, MetricName, Record
from monitor.core.inputs import Delivered, Resume
from monitor.core.notices import Delivery, NoticeKind
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import Incident, IncidentClosed, IncidentNotified
from tests.core.helpers import CID, MIN
from tests.core.test_supervisor import BOSS, FAULT, NOC, S, Story, opened, plan


def answer(recipient: str, at: datetime, ok: bool = True) -> Delivery:
    return Delivery(recipient=recipient, relay="r1", accepted=ok, at=at if ok else None,
                    code=250 if ok else 451, reply="ok", permanent=False)  # fmt: skip


def notice(incident: Incident, kind: str, *results: Delivery) -> Delivered:
    return Delivered(incident=incident.id, circuit=CID, kind=kind, results=results)


def outage() -> tuple[Story, Incident]:
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    return s, o.incident


def told(s: Story) -> list[datetime | None]:
    return [f.incident.notified for f in s.facts() if isinstance(f, IncidentNotified)]


def test_a_notice_the_relay_accepted_is_the_notification_though_the_journal_lost_it() -> None:
    s, incident = outage()
    at = s.now + S  # the relay's 250; the notified fact never reached the journal
    lost = Resume(incidents=(incident,))
    proven = Resume(
        incidents=(incident,), accepted=(notice(incident, "opened", answer(FAULT, at)),)
    )
    before, after = Story(resume=lost, now=s.now + MIN), Story(resume=proven, now=s.now + MIN)
    assert told(after) == [at]
    record = next(e for e in after.effects if isinstance(e, Record))
    assert [type(f) for f in record.facts] == [IncidentNotified]  # journalled at the start
    for story in (before, after):
        story.travel(40 * MIN)
    assert before.metric(MetricName.BREACHES) and before.sends(NoticeKind.DEADLINE_AT_RISK)
    assert not after.metric(MetricName.BREACHES) and not after.sends(NoticeKind.DEADLINE_AT_RISK)
    opened_at = after.sup.tracker.open_incident(CID)
    assert opened_at is not None and opened_at.notified == at


def test_only_a_designated_contact_s_acceptance_of_an_incident_notice_counts() -> None:
    s, incident = outage()
    t = s.now
    accepted = (
        notice(incident, "opened", answer(BOSS, t + S)),  # the escalation group: not designated
        notice(incident, "deadline-at-risk", answer(NOC, t + 2 * S)),  # the NOC's, not theirs
        notice(incident, "opened", answer(FAULT, t + 3 * S, ok=False), answer(FAULT, t + 6 * S)),
        notice(incident, "reminder", answer(FAULT, t + 4 * S)),
    )
    again = Story(resume=Resume(incidents=(incident,), accepted=accepted), now=t + MIN)
    assert told(again) == [t + 4 * S]  # the first acceptance for a designated contact
    none = Story(resume=Resume(incidents=(incident,), accepted=accepted[:2]), now=t + MIN)
    assert told(none) == []


def test_a_time_in_the_journal_stands_and_a_standby_records_nothing() -> None:
    s, incident = outage()
    at = s.now + S
    proven = (notice(incident, "opened", answer(FAULT, at + MIN)),)
    kept = Resume(incidents=(replace(incident, notified=at),), accepted=proven)
    assert told(Story(resume=kept, now=s.now + MIN)) == []
    standby = Supervisor(plan(), Resume(incidents=(incident,), accepted=proven), node="noc-b",
                         leading=False)  # fmt: skip
    assert not [e for e in standby.start(s.now + MIN) if isinstance(e, Record)]


def test_a_closed_incident_whose_breach_was_counted_is_still_awaited() -> None:
    """A leader reads the acceptances of the incidents it awaits (service/cluster.py): a closed
    one whose breach it counted is one of them, for a late write-down may disprove the
    breach (tests/store/test_breach_told_late.py: before the fix it was no longer awaited)."""
    s, incident = outage()
    s.run(2, True)
    s.travel(31 * MIN)
    assert s.metric(MetricName.BREACHES)
    assert s.sup.pending() == [] and s.sup.awaited(s.now) == [incident.id]
    s.feed(notice(incident, "opened", answer(FAULT, incident.detected + S)))
    assert told(s) == [incident.detected + S]
    [warning] = [e for e in s.effects if isinstance(e, Log) and "breach counted" in e.text]
    assert "in time (written down late): the breach counted is void" in warning.text
    assert s.sup.awaited(s.now) == []


def test_a_lead_awaits_a_closed_incident_whose_deadline_passed_unnotified() -> None:
    s, _ = outage()
    s.run(2, True)
    [c] = [f.incident for f in s.facts() if isinstance(f, IncidentClosed)]
    told_opened = {c.id: {("opened", "primary"): frozenset({FAULT})}}
    again = Story(resume=Resume(incidents=(c,), notices=told_opened), now=s.now + 40 * MIN)
    assert again.sup.awaited(again.now) == [c.id]
    # not for ever: a write-down a day after the deadline is not waited for
    assert again.sup.awaited(again.now + timedelta(days=1)) == []
