"""A start takes a lost notification time from the relays' acceptances (core/restore.py): the
acceptance counts if its recipient was a designated contact when the notice was sent, as the
live rule judges it then (SLA.md §6.4), not by the configuration the start reads.

Found by review (h7): the contacts changed while the daemon was stopped (the fault contact
replaced), and the start judged the acceptance by the new list: the customer told in time
became a notification breach, 1/30 of the monthly charges.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from monitor.core.deadlines import PRIMARY, Group, policy_groups
from monitor.core.effects import MetricName
from monitor.core.inputs import Resume
from monitor.core.tracker import IncidentOpened
from monitor.store import open_store
from monitor.store.records import Notice
from tests.core.helpers import CID, MIN
from tests.core.test_supervisor import BOSS, FAULT, S, Story, circuit, plan
from tests.core.test_told_in_fact import answer, notice, outage, told

NEW = "new-fault@cust.example"


def replaced() -> Story:
    """The plan after the customer replaced its fault contact (FAULT -> NEW)."""
    c = circuit()
    groups = policy_groups([NEW], [Group(name="escalation", after=15 * MIN, recipients=(BOSS,))])
    return Story(plan(replace(c, groups=groups)))


def test_an_acceptance_for_the_contact_designated_then_counts_after_the_contacts_change() -> None:
    s, incident = outage()
    at = s.now + S
    sent = replace(notice(incident, "opened", answer(FAULT, at)), group=PRIMARY)
    p = replaced().sup.plan
    again = Story(p, Resume(incidents=(incident,), accepted=(sent,)), now=s.now + MIN)
    assert told(again) == [at]
    again.travel(40 * MIN)
    assert not again.metric(MetricName.BREACHES)


def test_an_escalation_acceptance_still_does_not_count() -> None:
    s, incident = outage()
    sent = replace(notice(incident, "opened", answer(BOSS, s.now + S)), group="escalation")
    p = replaced().sup.plan
    assert told(Story(p, Resume(incidents=(incident,), accepted=(sent,)), now=s.now + MIN)) == []


def test_a_real_journal_gives_each_acceptance_its_notice_s_group(tmp_path: Path) -> None:
    """The same, read back from a real journal: the outbox row's group comes with it."""
    s, incident = outage()
    at = s.now + S
    store = open_store(str(tmp_path / "journal.db"))
    try:
        store.record([IncidentOpened(incident=incident)])
        for group, to in ((PRIMARY, FAULT), ("escalation", BOSS)):
            store.outbox.put(Notice(message_id=f"<{group}@x>", incident_id=incident.id,
                                    circuit=CID, kind="opened", recipients=(to,), body=b"m",
                                    due_at=s.now, group=group), s.now)  # fmt: skip
        for item in store.outbox.claim_due(s.now, 5):
            [to] = item.notice.recipients
            store.outbox.finish(item.id, [answer(to, at)], at)
        resume = store.restore()
    finally:
        store.close()
    assert sorted((d.group, d.results[0].recipient) for d in resume.accepted) == [
        ("escalation", BOSS), (PRIMARY, FAULT)
    ]  # fmt: skip
    assert told(Story(replaced().sup.plan, resume, now=s.now + MIN)) == [at]
