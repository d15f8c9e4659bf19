"""The journal's writer: one ordered queue of store writes, carried out one at a time.

Facts, outbox rows, claims and delivery results all go through here, so they reach the journal
in the order the supervisor decided them ("journal first"). A write the journal refuses (disk
full, read-only, the database gone) is retried with backoff, 0.5 s doubling to 30 s, and
nothing behind it runs before it: nothing is dropped and nothing is reordered. A write the
journal refuses *for good* (``FencedError``: a notice claim or a leader's fact under a lease
epoch that no longer holds) fails alone, at once: retrying it could only block every write
behind it for ever. While a write
is failing, :attr:`Writer.failing_since` says since when, so the notifier can deliver what is
owed from memory rather than let the journal's trouble cost a customer a notice.

A write is a :class:`Job`: it is *built* on the event loop right before each attempt (so it
can look at the latest state without a lock) and run on the store's thread. Queued writes go
in batches (``Store.batch``): each stays all or nothing on its own, and one durable commit at
the end of the batch makes them all durable, one fsync for many writes, so a region going dark
(a thousand incidents, a thousand notices) does not wait on a thousand fsyncs in a row. A job
that must not share its commit (a fenced claim) says ``alone``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from monitor.core.errors import FencedError, JournalError
from monitor.core.retry import Backoff
from monitor.service.ratelimit import RateLimited

log = logging.getLogger("slawatch.journal")
T = TypeVar("T")
S_co = TypeVar("S_co", covariant=True)

MAX_BATCH = 256
"""Writes carried out under one commit at most."""


class Batching(Protocol):
    def batch(self) -> AbstractContextManager[None]: ...


S = TypeVar("S", bound=Batching)

RETRY = Backoff(base_s=0.5, cap_s=30.0, jitter=0.0)
"""A refused write is tried again after 0.5 s, 1 s, 2 s ... at most every 30 s."""


class Runs(Protocol[S_co]):
    """Where a write runs: ``await run(call)`` runs ``call(store)`` on the store's thread."""

    async def run(self, call: Callable[[S_co], T]) -> T: ...


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True, eq=False)
class Job(Generic[S, T]):
    """A write: ``build()`` gives the call to make (evaluated before each attempt);
    ``done`` hears its result, on the event loop."""

    build: Callable[[], Callable[[S], T]]
    done: Callable[[T], None] | None = None
    alone: bool = False
    future: asyncio.Future[T] = field(default_factory=_future)


class Writer(Generic[S]):
    """See the module docstring. ``on_error`` and ``on_write`` see every failure and every
    durable write (seconds), for the metrics."""

    def __init__(
        self,
        store: Runs[S],
        *,
        on_error: Callable[[], None] = lambda: None,
        on_write: Callable[[float], None] = lambda _: None,
    ) -> None:
        self._store = store
        self._jobs: deque[Job[S, Any]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._moved = asyncio.Event()
        """Set each time a batch leaves the queue (durable, or failed for its own reasons)."""
        self._on_error, self._on_write = on_error, on_write
        self._complain = RateLimited(log, every_s=10.0)
        self.failing_since: float | None = None
        """Monotonic seconds at which the journal started refusing writes; None while fine."""

    def submit(self, job: Job[S, T], *, first: bool = False) -> asyncio.Future[T]:
        """Queue ``job`` (at the front with ``first``, for a write that must precede what is
        queued); the future resolves once it is durable."""
        if first:
            self._jobs.appendleft(job)
        else:
            self._jobs.append(job)
        self._idle.clear()
        self._wake.set()
        return job.future

    def write(
        self, call: Callable[[S], T], done: Callable[[T], None] | None = None
    ) -> asyncio.Future[T]:
        """Queue a write that needs no second look: ``call(store)``."""
        return self.submit(Job(build=lambda: call, done=done))

    async def drained(self) -> None:
        """Wait until every queued write is durable, those queued meanwhile too (one queued
        as the queue emptied, before this waiter woke, among them)."""
        while self._jobs:
            await self._idle.wait()

    async def drain(self, *, stalled_s: float, moved: Callable[[], None] = lambda: None) -> bool:
        """As :meth:`drained`, for as long as the writes get through: give up (False) only
        once no write has left the queue for ``stalled_s`` seconds (a journal that refuses
        them, a hung disk). A slow journal behind a long queue (a region gone dark: thousands
        of incidents and notices queued at a stop) is waited for, however long it takes;
        ``moved`` hears each step, e.g. to ask the service manager for more time."""
        while self._jobs:
            self._moved.clear()
            try:
                async with asyncio.timeout(stalled_s):
                    await self._moved.wait()
            except TimeoutError:
                return False
            moved()
        return True

    async def run(self) -> None:
        """Carry out the queue until cancelled."""
        while True:
            if not self._jobs:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._head()
            outcomes = await self._durably(batch)
            for _ in batch:
                self._jobs.popleft()
            self._moved.set()
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                if not ok:
                    if not job.future.done():
                        job.future.set_exception(value)
                    continue
                if job.done is not None:
                    job.done(value)
                if not job.future.done():
                    job.future.set_result(value)

    def _head(self) -> list[Job[S, Any]]:
        """The writes at the head of the queue that share one commit."""
        first = self._jobs[0]
        if first.alone:
            return [first]
        out: list[Job[S, Any]] = []
        for job in self._jobs:
            if job.alone or len(out) == MAX_BATCH:
                break
            out.append(job)
        return out

    async def _durably(self, batch: list[Job[S, Any]]) -> list[tuple[bool, Any]]:
        """Run ``batch`` under one commit, again and again while the journal refuses it."""
        loop = asyncio.get_running_loop()
        retries = 0
        while True:
            calls = [job.build() for job in batch]
            started = loop.time()
            try:
                outcomes = await self._store.run(partial(_all, calls=calls))
            except JournalError as exc:
                delay = RETRY.delay(retries)
                self._failed(exc, delay, loop.time())
                await asyncio.sleep(delay)
                retries += 1
                continue
            self._fine(loop.time() - started)
            return outcomes

    def _failed(self, exc: JournalError, delay: float, now: float) -> None:
        self._on_error()
        if self.failing_since is None:
            self.failing_since = now
        self._complain.error("journal write failed, retrying in %.1f s: %s", delay, exc)

    def _fine(self, seconds: float) -> None:
        if self.failing_since is not None:
            log.warning("journal writes work again (%d writes queued)", len(self._jobs))
            self.failing_since = None
        self._on_write(seconds)

    def cancel_all(self) -> int:
        """Fail every queued write (at shutdown, after :meth:`drained` gave up); how many.
        A caller awaiting one gets the JournalError; most never look (facts, heartbeats,
        delivery results are written and forgotten), so each failure is marked seen: the
        stop reports the loss once, not the loop once per write ("Future exception was
        never retrieved")."""
        lost = 0
        while self._jobs:
            future = self._jobs.popleft().future
            if not future.done():
                future.set_exception(JournalError("the daemon stopped before this was written"))
                future.exception()  # seen; an await of it still raises
                lost += 1
        return lost


def _all(store: Batching, *, calls: list[Callable[[Any], Any]]) -> list[tuple[bool, Any]]:
    """Every call under one commit; a call that fails for its own reason (not the journal's)
    fails alone, the others are written."""
    out: list[tuple[bool, Any]] = []
    with store.batch():
        for call in calls:
            try:
                out.append((True, call(store)))
            except FencedError as exc:  # refused for good (another node leads): never retried
                out.append((False, exc))
            except JournalError:
                raise
            except Exception as exc:  # e.g. InputError: that write's own fault
                out.append((False, exc))
    return out
