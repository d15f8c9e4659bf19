"""Start-up of the command line (issue 16): wall time of ``slawatch --help`` and ``slawatch
ping --help``, beside a bare ``python -c pass``, each run N times.

    .venv/bin/python bench/startup_bench.py [--runs 30]

Prints median, minimum and 90th percentile in ms. Target: under 100 ms. monitor/ is
byte-compiled first (as an installed package is).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wall(cmd: list[str], runs: int) -> str:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    times.sort()
    return (
        f"median {statistics.median(times) * 1000:.0f} ms, min {times[0] * 1000:.0f} ms, "
        f"p90 {times[int(len(times) * 0.9)] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "monitor")], check=True)
    slawatch = str(BIN / "slawatch")
    for name, cmd in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("slawatch --help", [slawatch, "--help"]),
        ("slawatch ping --help", [slawatch, "ping", "--help"]),
    ):
        print(f"| {name} | {wall(cmd, args.runs)} |")


if __name__ == "__main__":
    main()
