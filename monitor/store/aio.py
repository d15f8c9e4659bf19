"""``AsyncJournal``: the journal off the event loop, on one dedicated writer thread.

One thread means one connection and serialised writes (SQLite allows one writer anyway);
the event loop only awaits a future. Every method mirrors :class:`Journal`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from monitor.core.model import Interval, MaintenanceWindow
from monitor.core.tracker import Event, Incident
from monitor.store import outbox
from monitor.store.journal import Journal, RestoredState, StoredWindow, TimelineEntry
from monitor.store.outbox import DeliveryResult, OutboxItem

T = TypeVar("T")


class AsyncJournal:
    def __init__(self, journal: Journal, pool: ThreadPoolExecutor) -> None:
        self.sync = journal
        self._pool = pool

    @classmethod
    async def open(cls, path: str | Path) -> AsyncJournal:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        try:
            journal = await asyncio.get_running_loop().run_in_executor(pool, Journal.open, path)
        except BaseException:
            pool.shutdown()
            raise
        return cls(journal, pool)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, partial(fn, *args, **kwargs)
        )

    async def close(self) -> None:
        await self._call(self.sync.close)
        self._pool.shutdown()

    @property
    def path(self) -> Path:
        return self.sync.path

    # -- facts -------------------------------------------------------------------------------
    async def record(self, events: Sequence[Event]) -> None:
        await self._call(self.sync.record, list(events))

    async def daemon_started(self, at: datetime) -> Interval | None:
        return await self._call(self.sync.daemon_started, at)

    async def daemon_stopped(self, at: datetime) -> None:
        await self._call(self.sync.daemon_stopped, at)

    async def heartbeat(self, at: datetime) -> None:
        await self._call(self.sync.heartbeat, at)

    async def first_start(self) -> datetime | None:
        return await self._call(self.sync.first_start)

    async def restore(self) -> RestoredState:
        return await self._call(self.sync.restore)

    async def incidents(
        self, circuit: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[Incident]:
        return await self._call(self.sync.incidents, circuit, start, end)

    async def incident(self, incident_id: int) -> Incident | None:
        return await self._call(self.sync.incident, incident_id)

    async def timeline(self, incident_id: int, now: datetime) -> list[TimelineEntry]:
        return await self._call(self.sync.timeline, incident_id, now)

    async def gaps(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Interval]:
        return await self._call(self.sync.gaps, start, end)

    async def exclude(self, incident_id: int, reason: str, at: datetime) -> Incident:
        return await self._call(self.sync.exclude, incident_id, reason, at)

    async def add_maintenance(
        self, circuit: str, window: MaintenanceWindow, source: str, at: datetime, by: str = ""
    ) -> int:
        return await self._call(self.sync.add_maintenance, circuit, window, source, at, by)

    async def journal_id(self) -> str:
        return await self._call(self.sync.journal_id)

    async def remove_maintenance(self, window_id: int, at: datetime) -> None:
        await self._call(self.sync.remove_maintenance, window_id, at)

    async def maintenance(self, circuit: str | None = None) -> list[StoredWindow]:
        return await self._call(self.sync.maintenance, circuit)

    async def record_snmp(
        self,
        circuit: str,
        router: str,
        demarc: str,
        at: datetime,
        kind: str,
        value: int | None,
        text: str,
    ) -> None:
        await self._call(self.sync.record_snmp, circuit, router, demarc, at, kind, value, text)

    async def snapshot(
        self, at: datetime, month: str, circuit: str, payload: dict[str, Any]
    ) -> None:
        await self._call(self.sync.snapshot, at, month, circuit, payload)

    async def prune_snapshots(self, before: datetime) -> int:
        return await self._call(self.sync.prune_snapshots, before)

    # -- outbox ------------------------------------------------------------------------------
    async def enqueue(
        self,
        *,
        message_id: str,
        incident_id: int | None,
        circuit: str,
        kind: str,
        recipients: Sequence[str],
        body: bytes,
        due_at: datetime,
    ) -> bool:
        return await self._call(
            self.sync.run,
            partial(
                outbox.enqueue,
                message_id=message_id,
                incident_id=incident_id,
                circuit=circuit,
                kind=kind,
                recipients=recipients,
                body=body,
                due_at=due_at,
                created_at=due_at,
            ),
        )

    async def claim_due(self, now: datetime, limit: int) -> list[OutboxItem]:
        return await self._call(self.sync.run, partial(outbox.claim_due, now=now, limit=limit))

    async def in_flight(self) -> list[OutboxItem]:
        return await self._call(self.sync.run, outbox.in_flight, write=False)

    async def record_delivery(
        self, outbox_id: int, results: Iterable[DeliveryResult], state: str
    ) -> None:
        await self._call(
            self.sync.run,
            partial(
                outbox.record_delivery, outbox_id=outbox_id, results=list(results), state=state
            ),
        )

    async def release(self, outbox_id: int, retry_at: datetime) -> None:
        await self._call(
            self.sync.run, partial(outbox.release, outbox_id=outbox_id, retry_at=retry_at)
        )

    async def first_acceptance(
        self, incident_id: int, recipients: Iterable[str]
    ) -> datetime | None:
        return await self._call(
            self.sync.run,
            partial(outbox.first_acceptance, incident_id=incident_id, recipients=list(recipients)),
            write=False,
        )
