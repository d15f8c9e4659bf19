"""Probe scheduling: every target at its own interval, spread evenly, on one heap.

Each target gets a fixed random phase inside its interval (jitter), so 10,000 paths at 1 s
fire as a steady ~10,000/s stream instead of one burst per second. Due targets are probed in
batches (one ``probe_many`` per tick), not with a task per target. The next due time is the
previous due time plus the interval, so the schedule does not drift; a tick that is late by
more than an interval skips ahead instead of firing a catch-up burst. Times are the event
loop's monotonic clock (seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.core.model import ProbeResult
from monitor.service import tasks

BATCH_WINDOW_S = 0.005
"""Targets due within this window of each other are probed in one batch."""


class Prober(Protocol):
    async def probe_many(self, targets: Sequence[str], *, timeout: float) -> list[ProbeResult]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What to probe: ``key`` identifies it to the caller (a PathKey or a control name)."""

    key: Hashable
    address: str
    interval_s: float


OnResults = Callable[[list[tuple[Hashable, ProbeResult]]], None]


class ProbeScheduler:
    """Fires every target at its interval and hands results to ``on_results`` in batches."""

    def __init__(
        self,
        prober: Prober,
        on_results: OnResults,
        *,
        timeout_s: float,
        rng: random.Random | None = None,
        on_late: Callable[[float], None] | None = None,
    ) -> None:
        self._prober = prober
        self._on_results = on_results
        self._timeout = timeout_s
        self._rng = rng or random.Random()
        self._targets: dict[Hashable, Target] = {}
        self._heap: list[tuple[float, int, Target]] = []  # (due, order, target)
        self._seq = 0
        self._changed = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._on_late = on_late

    def set_targets(self, targets: Sequence[Target]) -> None:
        """Replace the target set; unchanged targets keep their phase."""
        loop = asyncio.get_running_loop()
        new = {t.key: t for t in targets}
        now = loop.time()
        added = [t for k, t in new.items() if k not in self._targets]
        self._targets = new
        # kept targets keep their due time, with their new settings (e.g. interval)
        self._heap = [(due, n, new[t.key]) for due, n, t in self._heap if t.key in new]
        heapq.heapify(self._heap)
        for t in added:
            self._seq += 1
            heapq.heappush(self._heap, (now + self._rng.uniform(0, t.interval_s), self._seq, t))
        self._changed.set()

    async def run(self) -> None:
        """Probe until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._heap:
                self._changed.clear()
                await self._changed.wait()
                continue
            delay = self._heap[0][0] - loop.time()
            if delay > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # not wait_for: see notifying.py
                        await self._changed.wait()
                continue
            self._fire(loop.time())

    def _fire(self, now: float) -> None:
        """Probe every target due within the window. Each due target goes straight back in
        with its next due time (one heapreplace, not a pop and a push: this runs ~10,000
        times a second at 10,000 paths)."""
        heap, batch, replace = self._heap, list[Target](), heapq.heapreplace
        first_due, until, seq = heap[0][0], now + BATCH_WINDOW_S, self._seq
        while heap and heap[0][0] <= until:
            due, _, target = heap[0]
            batch.append(target)
            nxt = due + target.interval_s
            if nxt <= now:  # we fell behind by a whole interval: skip, don't burst
                nxt = now + target.interval_s
            seq += 1
            replace(heap, (nxt, seq, target))
        self._seq = seq
        if self._on_late is not None:
            self._on_late(now - first_due)
        self._spawn(batch)

    def _spawn(self, batch: list[Target]) -> asyncio.Task[None]:
        """Probe ``batch`` in a task of its own, tracked so that close() can cancel it."""
        task = asyncio.create_task(self._probe(batch))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    async def _probe(self, batch: list[Target]) -> None:
        results = await self._prober.probe_many([t.address for t in batch], timeout=self._timeout)
        self._on_results([(t.key, r) for t, r in zip(batch, results, strict=True)])

    async def probe_now(
        self, keys: Sequence[Hashable], *, count: int = 3, spacing_s: float = 0.2
    ) -> None:
        """Confirm quickly (after a trap): ``count`` rounds ``spacing_s`` apart, off-schedule.
        Rounds overlap (each has its own timeout), so with the default 3 rounds, 0.2 s apart
        and a 1 s timeout, a dead path has its three failures 1.4 s after the trap."""
        targets = [self._targets[k] for k in keys if k in self._targets]
        if not targets:
            return
        rounds = []
        for i in range(count):
            if i:
                await asyncio.sleep(spacing_s)
            rounds.append(self._spawn(targets))
        await asyncio.gather(*rounds)

    async def close(self) -> None:
        await tasks.stop(list(self._inflight))
