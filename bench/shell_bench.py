"""The daemon's cost per probe result outside the ICMP engine (issue 16): CPU seconds per
1,000,000 results through the real shell, best of N.

    .venv/bin/python bench/shell_bench.py [--paths 10000] [--seconds 120] [--runs 3]
                                          [--flaky] [--live SECONDS] [--profile FILE]

The real :class:`~monitor.service.daemon.Daemon` (its supervisor, metrics, RTT history,
journal writer and notifier, a real SQLite journal and a Maildir in a temp dir), started as
``slawatch run`` starts it (``gc.freeze()`` after the start), with the engine replaced by an
instant one: the bench hands it what the scheduler would, ``Daemon.on_outcomes`` with one
slot of the 1 s ring at a time (``--paths`` / 10 results, one send time each, RTTs
0.4-0.6 ms), the event loop running between batches (so big batches go in ``FEED_SLICE``
slices, a turn of the loop each, as in the daemon). The wall clock is scripted: 0.1 s a
batch, so ``--seconds`` of probing (default 120: every path's evidence block rolls over
once, as it does every two minutes) take only the CPU they cost. Three rounds first (every
path's first result and its change to ``up``), not measured. ``time.process_time`` over the
rest: every thread of the process, the journal writer's included.

``--flaky``: every 10th circuit loses all four paths for 10 s in the middle (incidents open
and close, notices go to the Maildir, evidence is captured and journalled).
``--live SECONDS``: instead, the real scheduler on the loop's clock for that long, with an
engine that answers every echo at once (as the 2026-12-02 07:57 measurement): the share of a
core, and CPU seconds per 1,000,000 results.
``--profile FILE``: cProfile the last run's measured part into FILE (pstats).
``--dump DIR``: write what the last run left there, to compare two versions of the code
(``diff -r``): the metrics' exposition, the journal (SQL), the notices (the Maildir) and what
the status page reads (each path's state, last RTT and sparkline, each circuit's incidents).

Target (issue 16): the daemon at 10,000 paths under 25 % of one core, engine included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import logging
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import config  # noqa: E402
from monitor.metrics import Metrics  # noqa: E402
from monitor.service.daemon import Daemon, targets  # noqa: E402
from monitor.service.probing import Outcomes  # noqa: E402
from monitor.service.transports import build_transport  # noqa: E402
from monitor.store import open_store  # noqa: E402
from monitor.store.aio import AsyncStore  # noqa: E402
from monitor.store.base import Store  # noqa: E402
from tests.service.harness import many_circuits  # noqa: E402

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
SLOTS = 10  # a 1 s ring's slots (probing.BATCH_WINDOW_S)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Instant:
    """An engine that answers every echo at once, 0.4-0.6 ms, stamped now."""

    def __init__(self) -> None:
        self.rng = random.Random(1)
        self.results = 0

    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes:
        n, at = len(targets), datetime.now(UTC)
        self.results += n
        rtt = [0.0004 + self.rng.random() * 0.0002 for _ in range(n)]
        return [at] * n, list(rtt), [None] * n


def settings(tmp: Path, paths: int) -> config.Settings:
    ids = [f"c{c:05d}" for c in range(paths // 4)]
    return many_circuits(tmp, ids, lambda c, i: f"10.{c >> 8}.{c & 255}.{i + 1}",
                         contact=lambda c: "fault@cust.example",
                         probe_interval_s=1, probe_timeout_s=1)  # fmt: skip


async def build(tmp: Path, paths: int, wall: Clock | None) -> tuple[Daemon, AsyncStore[Store]]:
    s = settings(tmp, paths)
    store: AsyncStore[Store] = await AsyncStore.open(lambda: open_store(s.journal))
    clock = wall or (lambda: datetime.now(UTC))
    d = Daemon(s.plan(), store=store, prober=Instant(), transport=build_transport(s, clock),
               metrics=Metrics(), wall=clock, watch_clock=wall is None)  # fmt: skip
    await d.start()
    return d, store


async def settle(d: Daemon) -> None:
    """Until the slices of the batches handed in are fed (a turn of the loop each)."""
    while d._slices or d._slicing is not None:  # noqa: ASYNC110 (a turn, not an event)
        await asyncio.sleep(0)


async def fed(
    paths: int, seconds: int, *, flaky: bool, prof: cProfile.Profile | None, dump: bool
) -> tuple[float, dict[str, bytes]]:
    """One run of the scripted kind (module docstring): CPU seconds of the measured part,
    and with ``dump`` what the run left, by file name (module docstring, ``--dump``)."""
    left: dict[str, bytes] = {}
    tmp = Path(tempfile.mkdtemp(prefix="slawatch-shell-"))
    clock = Clock(T0)
    d, store = await build(tmp, paths, clock)
    try:
        d.scheduler.set_targets([])  # the bench hands the batches in itself
        keys: list[Hashable] = [t.key for t in targets(d.plan)]
        per = max(len(keys) // SLOTS, 1)
        slots = [keys[i : i + per] for i in range(0, len(keys), per)]
        down = {k for k in keys if int(getattr(k, "circuit", "c0")[1:]) % 10 == 0}
        rng = random.Random(7)
        outage = range(3 + seconds // 2, 3 + seconds // 2 + 10) if flaky else range(0)

        def second(n: int) -> list[tuple[datetime, Outcomes]]:
            """What the engine hands over in second ``n``: a batch a slot."""
            out = []
            for i, slot in enumerate(slots):
                at = T0 + timedelta(seconds=n, microseconds=i * 100_000)
                failing = n in outage
                rtts: list[float | None] = [
                    None if failing and k in down else 0.0004 + rng.random() * 0.0002 for k in slot
                ]
                errors: list[str | None] = [None if r is not None else "timeout" for r in rtts]
                out.append((at, ([at] * len(slot), rtts, errors)))
            return out

        async def feed(batches: list[tuple[datetime, Outcomes]]) -> None:
            for slot, (at, outcomes) in zip(
                slots * (len(batches) // len(slots)), batches, strict=True
            ):
                clock.now = at + timedelta(milliseconds=1)
                d.on_outcomes(slot, outcomes)
                await settle(d)
                await asyncio.sleep(0)

        warm = [b for n in range(3) for b in second(n)]
        measured = [b for n in range(3, 3 + seconds) for b in second(n)]  # made beforehand
        await feed(warm)
        await d.writer.drained()
        gc.collect()
        gc.freeze()
        if prof is not None:
            prof.enable()
        cpu = time.process_time()
        await feed(measured)
        await d.writer.drained()
        cpu = time.process_time() - cpu
        if prof is not None:
            prof.disable()
        if dump:
            left["metrics.txt"] = generate_latest(d.metrics.registry)
            left["status.txt"] = status(d).encode()
    finally:
        await d.stop()
        await store.close()
        gc.unfreeze()
    try:
        if dump:
            left.update(leftovers(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cpu, left


def leftovers(tmp: Path) -> dict[str, bytes]:
    """The journal (as SQL) and the notices written (the Maildir's files, sorted)."""
    with contextlib.closing(sqlite3.connect(tmp / "journal.db")) as db:
        journal = "\n".join(db.iterdump()).encode()
    mails = sorted(p.read_bytes() for p in (tmp / "maildir").rglob("*") if p.is_file())
    return {"journal.sql": journal, "mails.txt": b"\n----\n".join(mails)}


def status(d: Daemon) -> str:
    """What the status page and the API read of the supervisor: every path's state, RTT
    and sparkline, each circuit's incidents, the latest result."""
    sup, now = d.sup, d.wall()
    lines = [f"last probe {sup.last_probe}"]
    for c in d.plan.circuits:
        lines.append(f"{c.id} {sup.tracker.incidents(c.id)}")
        for p in c.paths:
            lines.append(f"  {p.key} {sup.tracker.path_state(p.key)} {sup.rtt.get(p.key)!r} "
                         f"{d.history.series(p.key, now)}")  # fmt: skip
    return "\n".join(lines)


async def live(paths: int, seconds: float) -> tuple[float, int]:
    """The real scheduler with an instant engine: (CPU seconds, results) over ``seconds``."""
    tmp = Path(tempfile.mkdtemp(prefix="slawatch-shell-"))
    d, store = await build(tmp, paths, None)
    engine = d.scheduler._prober
    assert isinstance(engine, Instant)
    try:
        await asyncio.sleep(5)  # every path's first results
        gc.collect()
        gc.freeze()
        cpu, n = time.process_time(), engine.results
        await asyncio.sleep(seconds)
        return time.process_time() - cpu, engine.results - n
    finally:
        await d.stop()
        await store.close()
        gc.unfreeze()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=120, help="scripted seconds measured")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flaky", action="store_true")
    parser.add_argument("--live", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--dump", metavar="DIR", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("slawatch").setLevel(logging.ERROR)  # the incidents' lines (--flaky)
    paths = args.paths // 4 * 4
    if args.live:
        cpu, results = asyncio.run(live(paths, args.live))
        print(f"live, {paths:,} paths, {args.live:g} s: {cpu:.2f} CPU s for {results:,} results"
              f" = {100 * cpu / args.live:.1f} % of a core, "
              f"{cpu / max(results, 1) * 1e6:.2f} CPU s per 1,000,000 results")  # fmt: skip
        return 0
    runs = []
    for r in range(args.runs):
        prof = cProfile.Profile() if args.profile and r == args.runs - 1 else None
        last = r == args.runs - 1
        cpu, left = asyncio.run(
            fed(paths, args.seconds, flaky=args.flaky, prof=prof, dump=last and bool(args.dump))
        )
        runs.append(cpu)
        if left:
            args.dump.mkdir(parents=True, exist_ok=True)
            for name, data in left.items():
                (args.dump / name).write_bytes(data)
        if prof is not None:
            prof.dump_stats(args.profile)
    results = paths * args.seconds
    per = [cpu / results * 1e6 for cpu in runs]
    print(f"{paths:,} paths x {args.seconds} s{' (flaky)' if args.flaky else ''}: "
          f"{results:,} results a run; CPU s per 1,000,000 results: best {min(per):.3f} "
          f"(runs {', '.join(f'{p:.3f}' for p in per)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
