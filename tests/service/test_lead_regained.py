"""A leader whose own lease lapsed and which took it back under the same epoch sends what it
left in flight (found by a review: before the fix such a notice stayed in flight until the
next failover or restart, a missed 30-minute notice).

The real notifier, journal writer, SQLite journal (its lease table fences the claims) and a
Maildir transport; only the lease loop is replaced by a gate the test opens and closes.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from monitor.clock import utcnow
from monitor.core.plan import NotifyPlan
from monitor.notify.maildir import MaildirSink
from monitor.service.notifier import Notifier
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.records import Notice, OutboxState
from monitor.store.sql import SqlStore
from tests.service.harness import until


class Lapsing:
    """The lease as the notifier sees it: open under ``epoch``; it closes right after the
    first claim (the lead ends while the delivery waits for its slot) until :meth:`back`."""

    def __init__(self, epoch: int) -> None:
        self.epoch: int | None = epoch
        self.asked = 0
        self.open = True

    def may_send(self) -> bool:
        self.asked += 1
        if self.asked == 2:  # the delivery's own check, right after the claim
            self.open = False
        return self.open

    def left(self) -> float:
        return 60.0 if self.open else 0.0

    def back(self) -> None:
        self.open = True

    def fenced(self) -> None:
        raise AssertionError("the journal refused a claim under the live epoch")


def message(mid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"] = "slawatch@localhost", "ops@example.com", mid
    msg["Subject"] = "opened"
    msg.set_content("every path down")
    return bytes(msg)


async def test_a_lead_taken_back_under_the_same_epoch_sends_what_it_left(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "journal.db"), node="noc-a")
    assert isinstance(store, SqlStore)
    lease = store.lease.acquire_or_renew("noc-a", 600)
    assert lease is not None
    now = utcnow()
    store.outbox.put(Notice(message_id="<m1@x>", incident_id=1, circuit="c1", kind="opened",
                            recipients=("ops@example.com",), body=message("<m1@x>"),
                            due_at=now), now)  # fmt: skip
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    writer: Writer[SqlStore] = Writer(journal)
    gate = Lapsing(lease.epoch)
    notifier = Notifier(writer=writer, transport=MaildirSink(tmp_path / "maildir"),
                        plan=NotifyPlan(), origin="j", wall=utcnow,
                        on_delivered=lambda d: None, gate=gate)  # fmt: skip
    runner = asyncio.create_task(writer.run())
    notifier.start()
    try:
        await until(lambda: gate.asked >= 3, 10)  # claimed, dropped by its delivery, stood by
        [left] = store.outbox.in_flight()
        assert left.notice.message_id == "<m1@x>"
        gate.back()  # the same node leads again, under the same epoch
        await until(lambda: store.outbox.notices()[0].state is OutboxState.DONE, 10)
        [sent] = list((tmp_path / "maildir" / "new").iterdir())
        assert b"<m1@x>" in sent.read_bytes()
    finally:
        await notifier.close()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal.close()
