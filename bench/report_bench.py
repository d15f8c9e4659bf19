"""Time ``slawatch report`` for a year of 1,000 circuits (best of 3 per case).

    .venv/bin/python bench/report_bench.py [--circuits N] [--per-month K] [--keep DIR]

Builds a journal with ``N`` circuits x 12 months x ``K`` incidents (2026; a quarter of them
unnotified, one in 50 excluded, one in 10 across a month end), an announced window per circuit
and month, a few unmonitored gaps and blind intervals; then runs the real command line
(``python -m monitor report``, start-up included) for the whole year in one run per format
(the months drawn in parallel processes, the default, and with ``--jobs 1``), and as 12 runs
of one month each. Target (issue 6): a year in under 5 s. ``monitor/`` is byte-compiled first
(as an installed package is), so no run pays for compiling it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.core.model import Interval, MaintenanceWindow
from monitor.core.tracker import BlindEnded, BlindStarted, Incident, IncidentClosed, IncidentOpened
from monitor.store.sqlite import open_sqlite

YEAR = "2026-01..2026-12"
PATHS = "\n".join(
    f"      - {{router: {r}, demarc: {d}, address: 198.18.{n}.2}}"
    for n, (r, d) in enumerate(
        [(r, d) for r in ("active", "standby") for d in ("primary", "secondary")], 1
    )
)


def write_config(tmp: Path, circuits: int) -> Path:
    lines = [f"journal: {tmp / 'journal.db'}", "circuits:"]
    for c in range(circuits):
        lines += [
            f"  - id: er-{c:04d}",
            f"    monthly_fee_yen: {100_000 + 37 * c}",
            "    contacts: [noc@example.com]",
            "    paths:",
            PATHS,
        ]
    path = tmp / "slawatch.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_journal(tmp: Path, circuits: int, per_month: int) -> int:
    journal = open_sqlite(tmp / "journal.db")
    events: list[object] = []
    n = 0
    t0 = datetime(2025, 12, 31, 15, tzinfo=UTC)  # 2026-01-01 00:00 JST
    for c in range(circuits):
        for month in range(12):
            base = t0 + timedelta(days=30.4 * month)
            for k in range(per_month):
                n += 1
                start = base + timedelta(days=(k * 7 + c % 5) % 29, minutes=(c * 13 + k) % 600)
                long = n % 10 == 0
                length = timedelta(days=2) if long else timedelta(minutes=20 + (n * 17) % 900)
                if long:
                    start = base + timedelta(days=29, hours=12)  # across the month's end
                i = Incident(
                    id=n,
                    circuit=f"er-{c:04d}",
                    start=start,
                    detected=start + timedelta(minutes=2),
                    end=start + length,
                    notified=None if n % 4 == 0 else start + timedelta(minutes=7),
                )
                events += [IncidentOpened(incident=i), IncidentClosed(incident=i)]
    for month in range(12):
        b = t0 + timedelta(days=30.4 * month + 3)
        events += [
            BlindStarted(since=b, at=b),
            BlindEnded(interval=Interval(start=b, end=b + timedelta(minutes=40)), at=b),
        ]
    journal.record(events)  # type: ignore[arg-type]
    for c in range(circuits):
        for month in range(12):
            s = t0 + timedelta(days=30.4 * month + 10, hours=2)
            window = MaintenanceWindow(start=s, end=s + timedelta(hours=3), note="planned works")
            journal.add_window(f"er-{c:04d}", window, "api", s)
    for excluded in range(1, n + 1, 50):
        journal.exclude(excluded, "customer-side power failure", t0)
    journal.started(t0)
    journal.stopped(t0 + timedelta(days=100))
    journal.started(t0 + timedelta(days=100, hours=5))
    journal.close()
    return n


def run(cfg: Path, out: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "--config", str(cfg), "-o", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"slawatch report {' '.join(args)} failed: {done.stderr}")
    return elapsed


def best(cfg: Path, out: Path, *args: str) -> float:
    return min(run(cfg, out, *args) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--circuits", type=int, default=1000)
    parser.add_argument("--per-month", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="build (and keep) the files here")
    args = parser.parse_args()
    monitor = Path(__file__).resolve().parents[1] / "monitor"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(monitor)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        cfg = write_config(tmp, args.circuits)
        started = time.perf_counter()
        incidents = write_journal(tmp, args.circuits, args.per_month)
        size = (tmp / "journal.db").stat().st_size
        print(
            f"journal: {args.circuits:,} circuits, {incidents:,} incidents, "
            f"{size / 2**20:.1f} MiB, built in {time.perf_counter() - started:.1f} s"
        )
        now = ["--now", "2027-01-10T09:00:00+09:00"]
        for fmt in ("text", "json", "csv", "md", "html"):
            out = tmp / f"year.{fmt}"
            t = best(cfg, out, "--month", YEAR, "--format", fmt, *now)
            one = best(cfg, out, "--month", YEAR, "--format", fmt, "--jobs", "1", *now)
            print(
                f"year, one run, {fmt:<5}: {t:6.2f} s, --jobs 1 {one:6.2f} s "
                f"({out.stat().st_size / 2**20:.1f} MiB)"
            )
        months = [f"2026-{m:02d}" for m in range(1, 13)]
        started = time.perf_counter()
        for m in months:
            run(cfg, tmp / f"{m}.text", "--month", m, *now)
        print(f"year, 12 runs of a month, text: {time.perf_counter() - started:6.2f} s")
        t = best(cfg, tmp / "one.text", "--month", "2026-06", "--circuit", "er-0500", *now)
        print(f"one circuit, one month, text: {t:6.2f} s")


if __name__ == "__main__":
    main()
