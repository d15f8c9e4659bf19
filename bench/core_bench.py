"""Push 1,000,000 probe results through the tracker; print results per second (best of 3).

    .venv/bin/python bench/core_bench.py [--results N]

2,500 circuits x 4 paths x 100 ticks; every 10th circuit has a full outage in the middle so
some transitions and incidents happen. Target (issue 2): >= 500,000 results/s on one core.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from monitor.core.model import Demarc, PathKey, Router
from monitor.core.tracker import CircuitSpec, IncidentOpened, Tracker


def build(circuits: int) -> tuple[Tracker, list[PathKey]]:
    specs, keys = [], []
    for c in range(circuits):
        paths = tuple(PathKey(circuit=f"c{c}", router=r, demarc=d) for r in Router for d in Demarc)
        specs.append(CircuitSpec(id=f"c{c}", paths=paths))
        keys += paths
    return Tracker(specs), keys


def once(circuits: int, ticks: int) -> tuple[float, int, int]:
    tracker, keys = build(circuits)
    t0 = datetime(2026, 10, 7, tzinfo=UTC)
    times = [t0 + timedelta(seconds=i) for i in range(ticks)]
    outage = set(range(ticks // 3, ticks // 3 + 20))
    flaky = {k for k in keys if int(k.circuit[1:]) % 10 == 0}
    observe = tracker.observe
    incidents = results = 0
    start = time.perf_counter()
    for i, at in enumerate(times):
        down = i in outage
        for key in keys:
            events = observe(key, at, not (down and key in flaky))
            if events:
                incidents += sum(isinstance(e, IncidentOpened) for e in events)
        results += len(keys)
    return time.perf_counter() - start, results, incidents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=1_000_000)
    args = parser.parse_args()
    circuits, ticks = 2_500, max(args.results // 10_000, 1)
    best = None
    for _ in range(3):
        elapsed, results, incidents = once(circuits, ticks)
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    print(
        f"{results:,} results through the tracker ({circuits:,} circuits x 4 paths x "
        f"{ticks} ticks), {incidents} incidents: best {best:.3f} s = "
        f"{results / best:,.0f} results/s"
    )


if __name__ == "__main__":
    main()
