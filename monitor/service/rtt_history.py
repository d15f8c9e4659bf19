"""The last 24 hours of round-trip times per path, in bounded memory, for the circuit page's
sparklines. Not the journal's business (the SLA never depends on an RTT) and not the core's:
it is what the shell saw, kept only in memory, lost at a restart.

Each path has a ring of :data:`BUCKETS` slots of :data:`BUCKET_S` seconds (one day), all in
one ``uint16`` array, five cells a slot: the minimum, mean and maximum of the RTTs answered in
the slot, and how many probes were answered and lost. An RTT is kept as a code on a log scale
(:func:`encode`): 1/3,000 of a natural-log unit a step, so a figure read back is within
0.017 % (half a step) of the RTT, from 0.1 us to 300 s: a sparkline needs ~1 %. The newest
slot's mean is exact (its sum is kept as a float until the slot closes).

The ring knows its newest bucket; moving on to a later one empties the slots in between, so a
slot last written a day ago reads as no data instead of yesterday's figures. A result up to a
day late goes into its own slot; one older than that is dropped. A batch of results goes into
the bucket of its first result (a batch is one slot of the scheduler: its results were sent
at most 100 ms apart, so a few land in the bucket before their own). The newest bucket's
figures are plain numbers until the next bucket begins, so a result costs a few comparisons
(0.6-0.9 us against 4.4-5.0 us when each was encoded). Memory is fixed per path:
:data:`BYTES_PER_PATH` (2,880 bytes, plus ~300 for the ring and its dict entry): 29 MB for
10,000 paths.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Hashable
from datetime import UTC, datetime
from math import exp, inf, log

from monitor.core.inputs import Probed
from monitor.core.model import PathKey
from monitor.web.views import RttPoint

BUCKET_S = 300
"""Seconds per point of a sparkline."""
BUCKETS = 24 * 3600 // BUCKET_S
"""Points kept per path: one day."""
_LO, _AVG, _HI, _ANSWERED, _LOST = range(5)
_CELLS = 5
_MAX = 0xFFFF
_R0 = 1e-7  # seconds: the RTT of code 1 (code 0: no RTT)
_STEPS = 3000.0  # codes per natural-log unit of RTT
BYTES_PER_PATH = BUCKETS * _CELLS * 2
"""The one array of a path's ring."""


def encode(rtt: float) -> int:
    """An RTT (seconds) as a code 1..65535 on the log scale (module docstring)."""
    if rtt <= _R0:
        return 1
    return min(1 + int(log(rtt / _R0) * _STEPS + 0.5), _MAX)


def decode(code: int) -> float:
    """The RTT (seconds) a code stands for."""
    return _R0 * exp((code - 1) / _STEPS)


class _Ring:
    """One path's day: ``cells[slot * 5 + field]``, slot ``bucket % BUCKETS``; the newest
    bucket's figures are kept as plain numbers until the next bucket begins (a result costs a
    few comparisons, no encoding)."""

    __slots__ = ("cells", "hi", "lo", "lost", "n", "newest", "total")

    def __init__(self) -> None:
        self.cells = array("H", bytes(BYTES_PER_PATH))
        self.newest = -1  # the newest bucket written (-1: none yet)
        self.lo, self.hi, self.total = inf, 0.0, 0.0  # seconds, the newest bucket's answers
        self.n = self.lost = 0

    def advance(self, bucket: int) -> None:
        """Store the newest bucket's figures and empty every slot up to ``bucket``."""
        cells = self.cells
        if self.newest >= 0:
            at = self.newest % BUCKETS * _CELLS
            n = min(self.n, _MAX)
            if n:
                cells[at + _LO], cells[at + _HI] = encode(self.lo), encode(self.hi)
                cells[at + _AVG] = encode(self.total / self.n)
            cells[at + _ANSWERED], cells[at + _LOST] = n, min(self.lost, _MAX)
        gap = bucket - self.newest if self.newest >= 0 else BUCKETS
        if gap >= BUCKETS:
            cells[:] = array("H", bytes(BYTES_PER_PATH))
        else:
            for b in range(self.newest + 1, bucket + 1):
                at = b % BUCKETS * _CELLS
                cells[at : at + _CELLS] = array("H", bytes(2 * _CELLS))
        self.newest = bucket
        self.lo, self.hi, self.total = inf, 0.0, 0.0
        self.n = self.lost = 0

    def late(self, bucket: int, rtt: float | None) -> None:
        """A result for a bucket before the newest (dropped if more than a day late)."""
        if bucket <= self.newest - BUCKETS:
            return
        cells, at = self.cells, bucket % BUCKETS * _CELLS
        if rtt is None:
            cells[at + _LOST] = min(cells[at + _LOST] + 1, _MAX)
            return
        n = cells[at + _ANSWERED]
        if n == _MAX:
            return
        code = encode(rtt)
        cells[at + _LO] = code if n == 0 else min(cells[at + _LO], code)
        cells[at + _HI] = max(cells[at + _HI], code)
        mean = decode(cells[at + _AVG]) if n else 0.0
        cells[at + _AVG] = encode((mean * n + rtt) / (n + 1))
        cells[at + _ANSWERED] = n + 1

    def point(self, bucket: int) -> RttPoint | None:
        """The figures of ``bucket``; None without data (never written, or overwritten)."""
        if not self.newest - BUCKETS < bucket <= self.newest:
            return None
        if bucket == self.newest:
            n, lost = self.n, self.lost
            lo, mean, hi = self.lo, self.total / (n or 1), self.hi
        else:
            cells, at = self.cells, bucket % BUCKETS * _CELLS
            n, lost = cells[at + _ANSWERED], cells[at + _LOST]
            lo, mean, hi = (decode(cells[at + f]) for f in (_LO, _AVG, _HI))
        if not n and not lost:
            return None
        return RttPoint(
            at=datetime.fromtimestamp(bucket * BUCKET_S, UTC),
            min_ms=lo * 1000 if n else None,
            avg_ms=mean * 1000 if n else None,
            max_ms=hi * 1000 if n else None,
            answered=n,
            lost=lost,
        )


class RttHistory:
    """Per path, a day of RTTs at :data:`BUCKET_S` resolution (module docstring)."""

    def __init__(self) -> None:
        self._rings: dict[Hashable, _Ring] = {}  # PathKeys only

    def add(self, batch: Probed) -> None:
        """Take a batch of probe results (control targets are ignored)."""
        if not batch:
            return
        bucket = int(batch.ats[0].timestamp()) // BUCKET_S
        rings = self._rings
        for key, ok, rtt in zip(batch.targets, batch.oks, batch.rtts, strict=True):
            ring = rings.get(key)
            if ring is None:
                if not isinstance(key, PathKey):
                    continue
                ring = rings[key] = _Ring()
            if bucket != ring.newest:
                if bucket < ring.newest:
                    ring.late(bucket, rtt if ok else None)
                    continue
                ring.advance(bucket)
            if not ok:
                ring.lost += 1
            elif rtt is not None:
                ring.n += 1
                ring.total += rtt
                if rtt < ring.lo:
                    ring.lo = rtt
                if rtt > ring.hi:
                    ring.hi = rtt

    def retain(self, keys: Collection[PathKey]) -> None:
        """Forget every path not in ``keys`` (after a reload removed it)."""
        for key in [k for k in self._rings if k not in keys]:
            del self._rings[key]

    def series(self, key: PathKey, now: datetime) -> tuple[RttPoint, ...]:
        """The day up to ``now`` (aware), oldest first: one point per bucket with data."""
        ring = self._rings.get(key)
        if ring is None:
            return ()
        last = int(now.timestamp()) // BUCKET_S
        points = (ring.point(b) for b in range(last - BUCKETS + 1, last + 1))
        return tuple(p for p in points if p is not None)

    def __len__(self) -> int:
        return len(self._rings)
