"""A contact group is told an incident's notices in the order they were owed, whatever their
due times and however many deliveries run at once: an escalation owed while blind, for an
outage whose end (backdated) came a second before it, reached the group as RECOVERED, then
OPENED (a chaos run saw it at the relay every time, 3-7 ms apart). The journal, the outbox,
the notifier and the relay are real."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.core.events import Incident, IncidentClosed, IncidentOpened
from monitor.store import open_store
from monitor.store.records import Notice
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import T0, Clock, Harness

MIN = timedelta(minutes=1)
BOSS = "boss@cust.example"


def notice(mid: str, kind: str, due: timedelta) -> Notice:
    body = (f"Message-ID: {mid}\r\nFrom: slawatch@noc.example\r\nTo: {BOSS}\r\n"
            f"X-Slawatch-Kind: {kind}\r\nSubject: {kind}\r\n\r\n{kind}\r\n")  # fmt: skip
    return Notice(message_id=mid, incident_id=1, circuit="c1", kind=kind, group="escalation",
                  recipients=(BOSS,), body=body.encode(), due_at=T0 + due)  # fmt: skip


async def test_a_group_gets_the_opening_before_the_recovery_due_earlier(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        relay.script.stall_data_s = 0.2  # long enough for two deliveries to overlap
        h = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 20 * MIN))
        store = open_store(h.settings.journal)
        try:  # as the blind spell left them: owed in this order, the second due earlier
            i = Incident(id=1, circuit="c1", start=T0, detected=T0, end=T0 + 15 * MIN - MIN / 60)
            store.record([IncidentOpened(incident=i), IncidentClosed(incident=i)])
            store.outbox.put(notice("<o@x>", "opened", 15 * MIN), T0 + 16 * MIN)
            store.outbox.put(notice("<r@x>", "recovered", 15 * MIN - MIN / 60), T0 + 16 * MIN)
        finally:
            store.close()
        await h.start()
        try:
            await h.until(lambda: len([r for r in relay.received if BOSS in r.rcpt_tos]) >= 2)
        finally:
            await h.stop()
    assert [r.message_id for r in relay.received if BOSS in r.rcpt_tos] == ["<o@x>", "<r@x>"]
