"""What the notifier holds while notices wait for a relay is bounded: a region recovering at
once behind a slow relay kept every waiting notice's rendered message (~130 KB and ~600
objects each), 2,000 and more in a bench of 1,000 circuits; RSS grew by ~230 MB and every
full garbage collection walked them, stalling the event loop 1.5-2 s at a time. The real
notifier, journal writer, SQLite journal, Mailer and an aiosmtpd relay on 127.0.0.1, down
while the notices pile up, then up: every notice still goes out, once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from monitor.clock import utcnow
from monitor.core.retry import Backoff
from monitor.core.sends import blind_send
from monitor.core.tracker import BlindStarted
from monitor.notify.mailer import Mailer
from monitor.service.notifier import CONCURRENCY, RENDERED_KEPT, Notifier
from monitor.service.transports import build_relays
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.sql import SqlStore
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import settings, until

NOC = ("noc@noc.example",)


async def test_notices_waiting_for_a_relay_keep_a_bounded_number_of_rendered_messages(
    tmp_path: Path,
) -> None:
    n = RENDERED_KEPT + CONCURRENCY + 16  # more than kept, even with a delivery per slot
    relay = SmtpServer()  # not listening yet: every delivery retries
    s = settings(tmp_path, relay_ports=[relay.port])
    store = open_store(s.journal)
    assert isinstance(store, SqlStore)
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    writer: Writer[SqlStore] = Writer(journal)
    mailer = Mailer(build_relays(s), backoff=Backoff(base_s=0.05, cap_s=0.2))
    notifier = Notifier(writer=writer, transport=mailer, plan=s.plan().notify, origin="j",
                        wall=utcnow, on_delivered=lambda d: None)  # fmt: skip
    runner = asyncio.create_task(writer.run())
    notifier.start()
    now = utcnow()
    try:
        for k in range(n):  # n distinct notices at once
            since = now - timedelta(minutes=k)
            notifier.send(blind_send(BlindStarted(since=since, at=now), NOC, "Asia/Tokyo"))

        async def all_stored() -> bool:
            rows = await journal.run(lambda st: st.outbox.notices())
            return len(rows) == n and not notifier._unstored

        await until(all_stored, 30)
        await until(lambda: len(notifier._deliveries) == n, 10)  # every one claimed, waiting
        assert len(notifier._rendered) <= RENDERED_KEPT
        relay.start()
        await until(lambda: len(relay.received) >= n, 60)
        await until(lambda: not notifier._deliveries, 10)
        stored = [x.notice.message_id for x in await journal.run(lambda st: st.outbox.notices())]
    finally:
        await notifier.close()
        await writer.drained()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal.close()
        relay.stop()
    # (a delivery cut by the relay's 0.5 s timeout goes again: a second copy, same Message-ID)
    assert {r.message_id for r in relay.received} == set(stored)
    assert len(stored) == n
    assert not notifier._rendered
