"""The daemon's view without the daemon: a supervisor resumed read-only from the journal.

``slawatch status``, ``incidents`` ... use it when no daemon answers. Nothing is probed or
sent and no start is recorded; operators' changes go to the journal (checked as the daemon
checks them) and the daemon reads them when it next starts.
"""

from __future__ import annotations

from pathlib import Path

from monitor.clock import Wall, utcnow
from monitor.core.inputs import Input
from monitor.core.plan import Plan
from monitor.core.supervisor import Supervisor
from monitor.service.backend import Backend
from monitor.service.operations import Operations
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store


class Offline:
    """A :class:`Backend` over the journal at ``journal``; ``close()`` when done."""

    def __init__(self, store: AsyncStore[Store], backend: Backend) -> None:
        self.store, self.backend = store, backend

    @classmethod
    async def open(
        cls,
        plan: Plan,
        journal: str | Path,
        wall: Wall = utcnow,
        password_file: Path | None = None,
    ) -> Offline:
        store: AsyncStore[Store] = await AsyncStore.open(
            lambda: open_store(journal, password_file=password_file, check=False, read=True)
        )
        try:
            resume = await store.run(lambda s: s.restore())
        except BaseException:
            await store.close()
            raise
        sup = Supervisor(plan, resume)

        def feed(event: Input) -> None:
            sup.handle(event, wall())  # what it would do is the daemon's business

        ops = Operations(store, plan=lambda: plan, feed=feed, wall=wall)
        return cls(store, Backend(lambda: sup, store=store, ops=ops, wall=wall))

    async def close(self) -> None:
        await self.store.close()
