"""The last 24 hours of round-trip times per path, in bounded memory, for the circuit page's
sparklines. Not the journal's business (the SLA never depends on an RTT) and not the core's:
it is what the shell saw, kept only in memory, lost at a restart.

Each path has a ring of :data:`BUCKETS` slots of :data:`BUCKET_S` seconds (one day): the
minimum, maximum and sum of the RTTs answered in that slot, and how many probes were answered
and lost. A slot knows which bucket it holds, so a slot last written a day ago reads as no
data instead of yesterday's figures. A batch of results goes into the bucket of its first
result (a batch is one tick of the scheduler: its results are milliseconds apart). Memory is
fixed per path, about 5.8 kB (:data:`BYTES_PER_PATH`): 23 MB for 4,000 paths.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Hashable, Sequence
from datetime import UTC, datetime

from monitor.core.model import PathKey, ProbeResult
from monitor.web.views import RttPoint

BUCKET_S = 300
"""Seconds per point of a sparkline."""
BUCKETS = 24 * 3600 // BUCKET_S
"""Points kept per path: one day."""
_MAX_COUNT = 0xFFFF


class _Ring:
    """One path's day: parallel arrays indexed by ``bucket % BUCKETS``."""

    __slots__ = ("answered", "bucket", "hi", "lo", "lost", "total")

    def __init__(self) -> None:
        self.bucket = array("i", [-1]) * BUCKETS  # the bucket number a slot holds
        self.lo = array("f", [0.0]) * BUCKETS  # seconds
        self.hi = array("f", [0.0]) * BUCKETS
        self.total = array("f", [0.0]) * BUCKETS
        self.answered = array("H", [0]) * BUCKETS
        self.lost = array("H", [0]) * BUCKETS

    def slot(self, bucket: int) -> int | None:
        """The slot for ``bucket``, emptied if it held an older one; None if it holds a newer
        one (a result more than a day late)."""
        i = bucket % BUCKETS
        held = self.bucket[i]
        if held == bucket:
            return i
        if held > bucket:
            return None
        self.bucket[i] = bucket
        self.lo[i] = self.hi[i] = self.total[i] = 0.0
        self.answered[i] = self.lost[i] = 0
        return i


BYTES_PER_PATH = BUCKETS * (4 * 4 + 2 * 2)
"""The arrays of one path's ring (the dict entry and array headers add about 500 bytes)."""


class RttHistory:
    """Per path, a day of RTTs at :data:`BUCKET_S` resolution (module docstring)."""

    def __init__(self) -> None:
        self._rings: dict[PathKey, _Ring] = {}

    def add(self, results: Sequence[tuple[Hashable, ProbeResult]]) -> None:
        """Take a batch of probe results (control targets and other keys are ignored)."""
        if not results:
            return
        bucket = int(results[0][1].at.timestamp()) // BUCKET_S
        rings = self._rings
        for key, r in results:
            if not isinstance(key, PathKey):
                continue
            ring = rings.get(key)
            if ring is None:
                ring = rings[key] = _Ring()
            i = ring.slot(bucket)
            if i is None:
                continue
            if not r.ok:
                ring.lost[i] = min(ring.lost[i] + 1, _MAX_COUNT)
            elif r.rtt is not None:
                n = ring.answered[i]
                if n == _MAX_COUNT:
                    continue
                ring.lo[i] = r.rtt if n == 0 else min(ring.lo[i], r.rtt)
                ring.hi[i] = max(ring.hi[i], r.rtt)
                ring.total[i] += r.rtt
                ring.answered[i] = n + 1

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
        out = []
        for bucket in range(last - BUCKETS + 1, last + 1):
            i = bucket % BUCKETS
            if ring.bucket[i] != bucket:
                continue
            n = ring.answered[i]
            out.append(
                RttPoint(
                    at=datetime.fromtimestamp(bucket * BUCKET_S, UTC),
                    min_ms=ring.lo[i] * 1000 if n else None,
                    avg_ms=ring.total[i] / n * 1000 if n else None,
                    max_ms=ring.hi[i] * 1000 if n else None,
                    answered=n,
                    lost=ring.lost[i],
                )
            )
        return tuple(out)

    def __len__(self) -> int:
        return len(self._rings)
