"""The probe-evidence recorder in-process: memory and CPU for N paths' last 16 minutes.

    .venv/bin/python bench/recorder_bench.py [--paths 10000] [--minutes 16] [--captures 1000]

Feeds the real :class:`monitor.core.evidence.Recorder` N paths' results each second, in 200
batches of the paths whose phase falls in each 5 ms (send times with a scheduler's jitter,
RTTs of 5-60 us, one probe in 50 failed), as the daemon's supervisor does; then opens
``--captures`` incidents at once (a region going dark) and hands their evidence to
:func:`encode` as the journal writer would. Prints the memory held after the feed (resident
growth, or traced with ``--trace``), CPU per result and the worst batch, and the cost of the
captures and of encoding them. Any tree with the same Recorder API can be measured:
``PYTHONPATH=/other/tree python bench/recorder_bench.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

if not any(Path(p, "monitor").is_dir() for p in sys.path[1:] if p):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from monitor.core.evidence import Recorder, encode
from monitor.core.inputs import Probed
from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.core.tracker import Incident

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def rss() -> int:
    """Resident bytes now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10000)
    parser.add_argument("--minutes", type=int, default=16)
    parser.add_argument("--captures", type=int, default=1000)
    parser.add_argument("--trace", action="store_true",
                        help="memory by tracemalloc (slow; CPU figures then meaningless), "
                             "not by the growth of resident memory")  # fmt: skip
    args = parser.parse_args()
    rnd = random.Random(1)
    keys = [PathKey(circuit=f"c{n // 4:05d}", router=r, demarc=d)
            for n, (r, d) in enumerate((r, d) for _ in range(args.paths // 4)
                                       for r in Router for d in Demarc)]  # fmt: skip
    phase = sorted(((rnd.randrange(1_000_000), k) for k in keys), key=lambda pk: pk[0])
    ticks = [[(timedelta(microseconds=p), k) for p, k in phase if p // 5000 == n]
             for n in range(200)]  # fmt: skip
    rec = Recorder()
    if args.trace:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0] if args.trace else rss()
    cpu = worst = 0.0
    seconds, jitter = args.minutes * 60, timedelta(microseconds=1)
    for s in range(seconds):
        second = T0 + timedelta(seconds=s)
        for tick in ticks:
            batch = Probed.of(
                (k, ProbeResult(target="t", at=second + p + jitter * rnd.randrange(3000),
                                ok=(fail := rnd.random() < 0.02) is False,
                                rtt=None if fail else rnd.uniform(5e-6, 6e-5)))
                for p, k in tick
            )  # fmt: skip
            t = time.process_time()
            rec.add(batch)
            spent = time.process_time() - t
            cpu, worst = cpu + spent, max(worst, spent)
            del batch
    held = tracemalloc.get_traced_memory()[0] - base if args.trace else rss() - base
    tracemalloc.stop()
    results = seconds * len(keys)
    print(f"{len(keys):,} paths x {args.minutes} min = {results:,} results")
    how = "traced" if args.trace else "resident growth"
    print(f"held ({how}): {held / 2**20:.1f} MiB = {held / (len(keys) * 15 * 60):.2f} bytes a "
          f"result of 15 min")  # fmt: skip
    print(f"feed: {cpu / results * 1e6:.2f} us a result; worst batch {worst * 1e3:.1f} ms")
    now = T0 + timedelta(seconds=seconds)
    circuits = sorted({k.circuit for k in keys})[: args.captures]
    t = time.process_time()
    for n, circuit in enumerate(circuits):
        rec.capture(Incident(id=n, circuit=circuit, start=now - timedelta(seconds=30),
                             detected=now), "opened", now)  # fmt: skip
    took = time.process_time() - t
    done = rec.due(now + timedelta(minutes=6))
    t = time.process_time()
    size = sum(len(encode(e)) for e in done)
    coded = time.process_time() - t
    print(f"{len(circuits):,} captures at once: {took * 1e3:.0f} ms; encoding them (writer "
          f"thread): {coded:.2f} s, {size / 2**20:.1f} MiB gzip'd JSON")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
