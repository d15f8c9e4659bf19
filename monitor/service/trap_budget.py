"""How many traps a path's evidence takes: all of a few, a bounded rate of a flood.

Every trap a router sends about a path is evidence on that path's timeline, written to the
journal. A flood (a router stuck sending linkDown, a spoofer who knows the community) made
that a journal record per trap and path: ~570 a second, 1.6 GB an hour, each one chained,
and a quarter of an hour of them held in memory for the incident captures. Each path now
has a budget (a token bucket): ``burst`` traps at once, then ``per_s`` a second. A trap over
the budget is counted, not recorded, and the next one recorded says how many were held back
before it. A link's ordinary life (a few traps an event) never touches the budget.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

BURST = 10
PER_S = 1.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    held: int = 0


class TrapBudget:
    """Per key (a path): at most ``burst`` traps at once, refilled ``per_s`` a second."""

    def __init__(self, *, burst: int = BURST, per_s: float = PER_S) -> None:
        self.burst, self.per_s = burst, per_s
        self._buckets: dict[Hashable, _Bucket] = {}

    def take(self, key: Hashable, now: float) -> int | None:
        """A trap for ``key`` at ``now`` (monotonic seconds): None if it is held back (over
        the budget); else it is recorded, and this many were held back before it."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), at=now)
        elapsed = max(now - bucket.at, 0.0)
        bucket.tokens, bucket.at = min(self.burst, bucket.tokens + elapsed * self.per_s), now
        if bucket.tokens < 1.0:
            bucket.held += 1
            return None
        bucket.tokens -= 1.0
        held, bucket.held = bucket.held, 0
        return held

    def retain(self, keys: set[Hashable]) -> None:
        """Forget the keys not in ``keys`` (paths a reload removed)."""
        self._buckets = {k: b for k, b in self._buckets.items() if k in keys}
