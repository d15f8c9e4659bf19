"""A stop puts every notice the supervisor decided into the outbox, rendered or not yet: a
region going dark queues hundreds to render, and a stop (SIGTERM) in that moment dropped
those still waiting (a chaos run's suspicion, confirmed here). The real notifier, journal
writer, SQLite journal and a Maildir transport."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from monitor.clock import utcnow
from monitor.core.plan import NotifyPlan
from monitor.core.sends import blind_send
from monitor.core.tracker import BlindStarted
from monitor.notify.maildir import MaildirSink
from monitor.service.notifier import Notifier
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.sql import SqlStore


async def test_a_stop_stores_the_notices_still_waiting_to_be_rendered(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "journal.db"))
    assert isinstance(store, SqlStore)
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    writer: Writer[SqlStore] = Writer(journal)
    notifier = Notifier(writer=writer, transport=MaildirSink(tmp_path / "maildir"),
                        plan=NotifyPlan(noc=("noc@example.com",)), origin="j", wall=utcnow,
                        on_delivered=lambda d: None)  # fmt: skip
    runner = asyncio.create_task(writer.run())
    notifier.start()
    now = utcnow()
    try:
        for n in range(20):  # twenty distinct notices, then the stop at once
            since = now - timedelta(minutes=n)
            notifier.send(blind_send(BlindStarted(since=since, at=now), ("noc@example.com",),
                                     "Asia/Tokyo"))  # fmt: skip
        await notifier.close()
        await writer.drained()
        assert len(store.outbox.notices()) == 20
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal.close()
