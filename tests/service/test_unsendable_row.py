"""A stored notice no relay could ever take (its body has no From: a damaged journal, or a bug)
killed its delivery task: the exception went unseen ("Task exception was never retrieved"),
the row stayed in flight, and every start tried it again and died the same way (a review
found it). It is now given up, each recipient refused for good, with an error that names it;
the next notice of its group still goes.

The real notifier, journal writer, SQLite journal, Mailer and an aiosmtpd relay on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.clock import utcnow
from monitor.core.plan import NotifyPlan
from monitor.notify.mailer import Mailer
from monitor.notify.relays import Relay
from monitor.service.notifier import Notifier
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.records import Notice, OutboxState
from monitor.store.sql import SqlStore
from tests.notify.smtp_server import SmtpServer

RCPT = "ops@example.com"


def body(mid: str, *, sender: str | None) -> bytes:
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"], msg["Message-ID"], msg["Subject"] = RCPT, mid, "opened"
    msg.set_content("every path down")
    return bytes(msg)


async def test_a_notice_no_relay_could_take_is_given_up_and_the_next_still_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="slawatch")
    store = open_store(str(tmp_path / "journal.db"))
    assert isinstance(store, SqlStore)
    now = utcnow()
    for mid, sender in (("<bad@x>", None), ("<good@x>", "slawatch@localhost")):
        store.outbox.put(
            Notice(
                message_id=mid,
                incident_id=1,
                circuit="c1",
                kind="opened",
                recipients=(RCPT,),
                body=body(mid, sender=sender),
                due_at=now,
            ),
            now,
        )
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    writer: Writer[SqlStore] = Writer(journal)
    runner = asyncio.create_task(writer.run())
    with SmtpServer() as relay:
        mailer = Mailer([Relay(host="127.0.0.1", port=relay.port)])
        notifier = Notifier(writer=writer, transport=mailer, plan=NotifyPlan(), origin="j",
                            wall=utcnow, on_delivered=lambda d: None)  # fmt: skip
        notifier.start()
        try:
            deadline = time.monotonic() + 30
            rows = await journal.run(lambda s: s.outbox.notices())
            while any(r.state is not OutboxState.DONE for r in rows):
                assert time.monotonic() < deadline, [(r.notice.message_id, r.state) for r in rows]
                await asyncio.sleep(0.05)
                rows = await journal.run(lambda s: s.outbox.notices())
            assert [m.message_id for m in relay.received] == ["<good@x>"]
        finally:
            await notifier.close()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await journal.close()
    [record] = [r for r in caplog.records if "cannot be sent" in r.getMessage()]
    assert "<bad@x>" in record.getMessage() and "no From address" in record.getMessage()
