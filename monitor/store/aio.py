"""A store off the event loop: every call on one dedicated worker thread.

One thread means one connection and serialised writes (SQLite allows one writer anyway); the
event loop only awaits a future. Rather than restate every method of the store as a
coroutine, callers pass the call itself::

    incidents = await store.run(lambda s: s.incidents(circuit, lo, hi))

so the wrapper is a few lines and the store's own signatures are the only ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar


class Closing(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closing)
T = TypeVar("T")


class AsyncStore(Generic[S]):
    """Runs calls on ``store`` on its own thread; ``close`` closes it there."""

    def __init__(self, store: S, pool: ThreadPoolExecutor) -> None:
        self.sync = store
        self._pool = pool

    @classmethod
    async def open(cls, opener: Callable[[], S]) -> AsyncStore[S]:
        """Open the store on the worker thread (opening may migrate, and block)."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        try:
            store = await asyncio.get_running_loop().run_in_executor(pool, opener)
        except BaseException:
            pool.shutdown()
            raise
        return cls(store, pool)

    async def run(self, call: Callable[[S], T]) -> T:
        """``call(store)`` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, self.sync)

    async def close(self) -> None:
        await self.run(lambda s: s.close())
        self._pool.shutdown()
