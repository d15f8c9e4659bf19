"""Probe scheduling: every target at its own interval, spread evenly, on one ring per interval.

Each target gets a fixed random phase inside its interval (jitter), so 10,000 paths at 1 s
are an even load (ten batches of ~1,000 a second) instead of one burst per second. A target's
due times are ``epoch + k * interval + phase`` for every round ``k``: the schedule does not
drift, and the targets of one interval, sorted by phase, form a ring. The interval is cut
into equal slots (``BATCH_WINDOW_S``); when a slot's first target is due, the whole slot goes
out as one batch (one ``outcomes`` call, not a task per target), so a target is probed up to
one slot before its due time, at the same point of every round: exactly an interval apart.
A batch is a slice of the ring (two bisections, nothing per target: a deadline heap cost
~4 us a target at 10,000 paths, 10 % of the daemon's CPU). A late tick fires each overdue
target once, however late it is: no catch-up burst, and the phases stay. Batches are handed
on in the order they were sent (``_hand_on``). Times are the event loop's monotonic clock
(seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.service import tasks

log = logging.getLogger("slawatch")

BATCH_WINDOW_S = 0.1
"""The longest slot: a ring's interval is cut into at least ten equal slots of at most this.
Every wake-up of the daemon costs CPU beyond the work it does (~100 us or more on this
machine kind: bench/RESULTS.md); at 10,000 paths the daemon took 51.6 % of a core with 5 ms
batches, 40.9 % with 50 ms, 36.2 % with 100 ms and 38.5 % with 250 ms (late ticks then: a
batch that large delays the next)."""


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
Ended = tuple[list[Hashable], Outcomes]


class _Ring:
    """The targets of one interval in phase order (``phases``: seconds past the start of each
    round, in [0, interval)), cut into ``slots`` equal slots by phase. The cursor (round
    ``k``, index ``i``) is the next target to go out; ``fired_to`` the due time of the last
    one that did. Due times are always computed as ``epoch + k * interval + phase``, and
    compared as computed, so float rounding cannot make a target due and unfireable."""

    __slots__ = (
        "addresses", "ends", "epoch", "fired_to", "i", "interval", "k", "keys", "phases", "slots",
    )  # fmt: skip

    def __init__(self, interval: float, epoch: float, fired_to: float) -> None:
        self.interval, self.epoch, self.fired_to = interval, epoch, fired_to
        self.slots = max(10, math.ceil(interval / BATCH_WINDOW_S))
        self.phases: list[float] = []
        self.keys: list[Hashable] = []
        self.addresses: list[str] = []
        self.ends: list[int] = []  # per target: the index past the last of its slot
        self.k = self.i = 0

    def fill(self, phased: list[tuple[float, Target]]) -> None:
        """Take these targets; those due up to ``fired_to`` count as gone out."""
        phased.sort(key=lambda pt: pt[0])
        self.phases = [p for p, _ in phased]
        self.keys = [t.key for _, t in phased]
        self.addresses = [t.address for _, t in phased]
        slot = [min(self.slots - 1, int(p * self.slots / self.interval)) for p in self.phases]
        self.ends = [bisect_right(slot, s) for s in slot]
        self.k, self.i = self._after(self.fired_to)

    def _base(self, k: int) -> float:
        return self.epoch + k * self.interval

    def _after(self, t: float) -> tuple[int, int]:
        """The cursor of the first target due after ``t``."""
        k = math.floor((t - self.epoch) / self.interval)
        while self._base(k) > t:
            k -= 1
        while self._base(k + 1) <= t:
            k += 1
        base = self._base(k)
        i = bisect_right(self.phases, t, key=lambda p: base + p)
        return (k + 1, 0) if i == len(self.phases) else (k, i)

    def next_due(self) -> float:
        """When the next target is due (the ring is not empty)."""
        return self._base(self.k) + self.phases[self.i]

    def last_due(self, phase: float) -> float:
        """The latest due time, up to ``fired_to``, of a target at ``phase``."""
        k = math.floor((self.fired_to - self.epoch - phase) / self.interval)
        while self._base(k + 1) + phase <= self.fired_to:
            k += 1
        while self._base(k) + phase > self.fired_to:
            k -= 1
        return self._base(k) + phase

    def fire(self, now: float, keys: list[Hashable], addresses: list[str]) -> None:
        """Append every target of every slot whose next target is due by ``now``, each
        slot whole: the slot of a target on time goes out when its first is due. A ring more
        than an interval behind skips to the last interval's worth (each target once)."""
        if not self.phases:
            return
        if self.next_due() <= now - self.interval:
            self.k, self.i = self._after(now - self.interval)
        n, k, i = len(self.phases), self.k, self.i
        left = n  # a whole round at most: a slot begun mid-way comes round again
        while left and self._base(k) + self.phases[i] <= now:
            j = min(self.ends[i], i + left)
            left -= j - i
            keys += self.keys[i:j]
            addresses += self.addresses[i:j]
            self.fired_to = self._base(k) + self.phases[j - 1]
            k, i = (k + 1, 0) if j == n else (k, j)
        self.k, self.i = k, i


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
        self.timeout_s = timeout_s
        """Each probe's timeout, seconds; a change (reload) applies from the next batch."""
        self._rng = rng or random.Random()
        self._targets: dict[Hashable, Target] = {}
        self._phases: dict[Hashable, float] = {}
        self._rings: dict[float, _Ring] = {}  # by interval
        self._changed = asyncio.Event()
        self._inflight: set[asyncio.Task[Ended]] = set()
        self._on_late = on_late
        self._spawned = self._handed = 0  # batches sent, and handed on, in order
        self._ended: dict[int, Ended | None] = {}
        self._closed = False
        self._held: dict[Hashable, float] = {}  # moved to another interval: not before

    def set_targets(self, targets: Sequence[Target]) -> None:
        """Replace the target set. A kept target keeps its phase; one whose interval changed
        is next probed one new interval after its last probe (up to a slot before, as every
        target); a new one gets a random phase (first probed within one interval)."""
        now = asyncio.get_running_loop().time()
        new = {t.key: t for t in targets}
        rings = {
            i: self._rings.get(i) or _Ring(i, epoch=now, fired_to=now)
            for i in {t.interval_s for t in new.values()}
        }
        phased: dict[float, list[tuple[float, Target]]] = {i: [] for i in rings}
        phases: dict[Hashable, float] = {}
        held: dict[Hashable, float] = {}
        for key, t in new.items():
            old, ring = self._targets.get(key), rings[t.interval_s]
            if old is None:
                phase = self._rng.uniform(0, t.interval_s)
            elif old.interval_s == t.interval_s:
                phase = self._phases[key]
            else:  # due at its last probe plus whole new intervals; held past the first
                # one (the new ring may not have come round to it yet: it would go at once)
                last = self._rings[old.interval_s].last_due(self._phases[key])
                phase = (last - ring.epoch) % ring.interval
                held[key] = last + ring.interval / 2
            phases[key] = phase
            phased[t.interval_s].append((phase, t))
        for interval, ring in rings.items():
            ring.fill(phased[interval])
        self._targets, self._phases, self._rings = new, phases, rings
        self._held = {k: t for k, t in (self._held | held).items() if k in new}
        self._changed.set()

    async def run(self) -> None:
        """Probe until closed (or cancelled)."""
        loop = asyncio.get_running_loop()
        while not self._closed:
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
        """Probe the slots that are due, of every ring, in one batch."""
        keys: list[Hashable] = []
        addresses: list[str] = []
        for ring in self._rings.values():
            ring.fire(now, keys, addresses)
        if self._held:
            keys, addresses = self._unheld(now, keys, addresses)
        if self._on_late is not None:
            self._on_late(now - first_due)
        if keys:  # (none: every due target was held back)
            self._spawn(keys, addresses)

    def _unheld(
        self, now: float, keys: list[Hashable], addresses: list[str]
    ) -> tuple[list[Hashable], list[str]]:
        """The batch without the targets held back (for one interval after a reload that
        moved them to another interval); a hold that has passed is let go."""
        held = self._held
        for key in [k for k, until in held.items() if until <= now]:
            del held[key]
        kept = [(k, a) for k, a in zip(keys, addresses, strict=True) if k not in held]
        return [k for k, _ in kept], [a for _, a in kept]

    def _spawn(self, keys: list[Hashable], addresses: list[str]) -> asyncio.Task[Ended]:
        """Probe a batch in a task of its own, tracked so that close() can cancel it; its
        end is noted however it ends (even cancelled before it began), for ``_hand_on``."""
        n, self._spawned = self._spawned, self._spawned + 1
        task = asyncio.create_task(self._probe(keys, addresses))
        self._inflight.add(task)
        task.add_done_callback(lambda t: self._ended_batch(n, t))
        return task

    async def _probe(self, keys: list[Hashable], addresses: list[str]) -> Ended:
        return keys, await self._prober.outcomes(addresses, timeout=self.timeout_s)

    def _ended_batch(self, n: int, task: asyncio.Task[Ended]) -> None:
        self._inflight.discard(task)
        ended = None
        if not task.cancelled():
            if (exc := task.exception()) is None:
                ended = task.result()
            else:
                log.error("a probe batch failed; its results are lost", exc_info=exc)
        self._ended[n] = ended
        self._hand_on()

    def _hand_on(self) -> None:
        """Hand ended batches to ``on_results`` in the order they were sent. A batch whose
        echoes were all answered ends within milliseconds, one with a loss only at its
        timeout, and a timeout may be as long as the interval: without this, a path's next
        result could arrive before the loss, which the core must then drop as out of order
        (a path that failed three times could miss its third failure, and never go down)."""
        ended = self._ended
        while not self._closed and self._handed in ended:
            got = ended.pop(self._handed)
            self._handed += 1
            if got is not None:  # None: the batch raised (logged) or was cancelled
                self._on_results(*got)

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
        """Stop firing (``run`` returns) and cancel the batches in flight."""
        self._closed = True
        self._changed.set()
        await tasks.stop(list(self._inflight))
