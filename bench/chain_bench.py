"""The hash chain's cost per fact in the journal: time and bytes, with and without the chain.

    .venv/bin/python bench/chain_bench.py [--facts 20000] [--batch 1]

Records ``--facts`` path changes (``--batch`` per transaction, as the daemon's writer does one
``Record`` effect at a time) into a fresh SQLite journal and prints CPU (and wall) microseconds
per fact,
journal bytes per fact, and, when the code has a chain, how long ``verify`` takes. Run it from
a tree without the chain (e.g. ``git archive`` of the commit before it, this file copied in)
for the "without" figures: it uses only ``SqlStore.record``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from monitor.core.model import Demarc, PathKey, PathState, Router  # noqa: E402
from monitor.core.paths import Change  # noqa: E402
from monitor.core.tracker import PathChanged  # noqa: E402
from monitor.store.sqlite import open_sqlite  # noqa: E402

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.db"
        store = open_sqlite(path)
        facts = [
            PathChanged(
                path=PathKey(circuit=f"c{n % 1000:04d}", router=Router.ACTIVE,
                             demarc=Demarc.PRIMARY),
                change=Change(state=PathState.DOWN if n % 2 else PathState.UP,
                              since=T0 + timedelta(seconds=n), at=T0 + timedelta(seconds=n + 3)),
            )
            for n in range(args.facts)
        ]  # fmt: skip
        before = sum(f.stat().st_size for f in Path(tmp).glob("j.db*"))
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(facts), args.batch):
            store.record(facts[i : i + args.batch])
        spent, cpu = time.perf_counter() - t0, time.process_time() - c0
        store.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
        size = sum(f.stat().st_size for f in Path(tmp).glob("j.db*")) - before
        print(f"{args.facts} path changes, {args.batch} per transaction ({ROOT}):")
        print(f"  {cpu / args.facts * 1e6:.1f} us CPU per fact ({spent / args.facts * 1e6:.1f} us "
              f"wall, fsync included), {size / args.facts:.0f} bytes per fact")  # fmt: skip
        if hasattr(store, "verify"):
            t0 = time.perf_counter()
            check = store.verify()
            print(f"  verify: {check.records} records in {time.perf_counter() - t0:.2f} s, "
                  f"ok={check.ok}")  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()
