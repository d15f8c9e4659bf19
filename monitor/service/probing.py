"""Probe scheduling: every target at its own interval, spread evenly, on one ring per interval.

Each target gets a fixed random phase inside its interval (jitter), so 10,000 paths at 1 s
are probed as an even load (ten batches of ~1,000 a second: ``BATCH_WINDOW_S``) instead of
one burst per second. A target's due times are ``epoch + k * interval + phase`` for every
round ``k``: the schedule does not drift, and the targets of one interval, sorted by phase,
form a ring. Firing takes the slice of the ring between the last fire and the end of the batch
window (two bisections and one slice per batch, nothing per target: a deadline heap cost ~4 us
a target at 10,000 paths, 10 % of the daemon's CPU), so a target is probed up to one window
before its due time, never after it unless the loop is late. Each batch is one ``outcomes``
call, not a task per target. A late tick fires each overdue target once, however late it is:
no catch-up burst, and the phases stay. Times are the event loop's monotonic clock (seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.service import tasks

BATCH_WINDOW_S = 0.1
"""Targets due within this window of each other are probed in one batch (a tenth of their
interval where that is shorter). Every wake-up of the daemon costs CPU beyond the work it does
(measured, issue 16: ~100 us on this machine kind): at 10,000 paths the daemon took 51.6 % of a
core with 5 ms batches, 40.9 % with 50 ms, 36.2 % with 100 ms and 38.5 % with 250 ms (and
late ticks then: a batch that large delays the next)."""


Outcomes = tuple[list[datetime], list[float | None], list[str | None]]
"""A batch's outcomes by position: send times (aware, UTC), RTTs in seconds (None: no
answer) and errors (why not)."""


class Prober(Protocol):
    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What to probe: ``key`` identifies it to the caller (a PathKey or a control name)."""

    key: Hashable
    address: str
    interval_s: float


OnResults = Callable[[list[Hashable], Outcomes], None]
"""Takes the keys of a batch's targets and their outcomes, by position."""


class _Ring:
    """The targets of one interval in phase order (``phases`` seconds past ``epoch`` in
    [0, interval)), and ``fired_to``: every due time up to it has been fired."""

    __slots__ = ("addresses", "epoch", "fired_to", "interval", "keys", "phases", "window")

    def __init__(self, interval: float, epoch: float, fired_to: float) -> None:
        self.interval, self.epoch, self.fired_to = interval, epoch, fired_to
        self.window = min(BATCH_WINDOW_S, interval / 10)
        self.phases: list[float] = []
        self.keys: list[Hashable] = []
        self.addresses: list[str] = []

    def fill(self, phased: list[tuple[float, Target]]) -> None:
        phased.sort(key=lambda pt: pt[0])
        self.phases = [p for p, _ in phased]
        self.keys = [t.key for _, t in phased]
        self.addresses = [t.address for _, t in phased]

    def _at(self, t: float) -> tuple[float, int]:
        """(round start, ring index) of the first due time after ``t``."""
        k = math.floor((t - self.epoch) / self.interval)
        base = self.epoch + k * self.interval
        i = bisect_right(self.phases, t - base)
        if i == len(self.phases):
            return base + self.interval, 0
        return base, i

    def next_due(self) -> float:
        """The first due time not fired yet (the ring is not empty)."""
        base, i = self._at(self.fired_to)
        return base + self.phases[i]

    def fire(self, until: float, keys: list[Hashable], addresses: list[str]) -> None:
        """Append every target due after ``fired_to`` and up to ``until`` (each once: a
        ring more than an interval behind skips to the last interval's worth)."""
        phases, n = self.phases, len(self.phases)
        base, i = self._at(max(self.fired_to, until - self.interval))
        while n:
            j = bisect_right(phases, until - base, i)
            keys += self.keys[i:j]
            addresses += self.addresses[i:j]
            if j < n:
                break
            base, i = base + self.interval, 0
        self.fired_to = until


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
        self._phases: dict[Hashable, float] = {}
        self._rings: dict[float, _Ring] = {}  # by interval
        self._changed = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._on_late = on_late

    def set_targets(self, targets: Sequence[Target]) -> None:
        """Replace the target set; targets kept at the same interval keep their phase, the
        others get a random one (first probed within one interval)."""
        now = asyncio.get_running_loop().time()
        new = {t.key: t for t in targets}
        phased: dict[float, list[tuple[float, Target]]] = {}
        phases: dict[Hashable, float] = {}
        for key, t in new.items():
            old = self._targets.get(key)
            if old is not None and old.interval_s == t.interval_s:
                phase = self._phases[key]
            else:
                phase = self._rng.uniform(0, t.interval_s)
            phases[key] = phase
            phased.setdefault(t.interval_s, []).append((phase, t))
        rings = {}
        for interval, ring_targets in phased.items():
            ring = self._rings.get(interval) or _Ring(interval, epoch=now, fired_to=now)
            ring.fill(ring_targets)
            rings[interval] = ring
        self._targets, self._phases, self._rings = new, phases, rings
        self._changed.set()

    async def run(self) -> None:
        """Probe until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._rings:
                self._changed.clear()
                await self._changed.wait()
                continue
            first_due = min(ring.next_due() for ring in self._rings.values())
            delay = first_due - loop.time()
            if delay > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # not wait_for: see notifying.py
                        await self._changed.wait()
                continue
            self._fire(loop.time(), first_due)

    def _fire(self, now: float, first_due: float) -> None:
        """Probe every target due up to the end of its ring's batch window."""
        keys: list[Hashable] = []
        addresses: list[str] = []
        for ring in self._rings.values():
            ring.fire(now + ring.window, keys, addresses)
        if self._on_late is not None:
            self._on_late(now - first_due)
        self._spawn(keys, addresses)

    def _spawn(self, keys: list[Hashable], addresses: list[str]) -> asyncio.Task[None]:
        """Probe a batch in a task of its own, tracked so that close() can cancel it."""
        task = asyncio.create_task(self._probe(keys, addresses))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    async def _probe(self, keys: list[Hashable], addresses: list[str]) -> None:
        self._on_results(keys, await self._prober.outcomes(addresses, timeout=self._timeout))

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
            rounds.append(self._spawn([t.key for t in targets], [t.address for t in targets]))
        await asyncio.gather(*rounds)

    async def close(self) -> None:
        await tasks.stop(list(self._inflight))
