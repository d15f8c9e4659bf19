"""The daemon with 1,000 circuits x 4 paths at 1 s intervals for 60 s, in namespaces.

    sudo .venv/bin/python bench/daemon_bench.py [--circuits 1000] [--seconds 60]

Builds a topology (tests/topology.py), adds 4,000 answering addresses behind the gateway
namespace, runs the real ``slawatch run`` in the NOC namespace, and reports CPU % of one core
and peak RSS of the daemon (from /proc), the journal size, and the lateness of probe ticks
(how late the scheduler fired batches: p50/p99, read from the daemon's log line at exit).
Targets (issue 4): under 25% of one core and under 200 MB RSS.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.topology import Topology  # noqa: E402


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS kB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return cpu, peak


def _quantiles(metrics: str, name: str) -> str:
    """p50 and p99 upper bounds from a histogram's cumulative buckets."""
    buckets = []
    for ln in metrics.splitlines():
        if ln.startswith(f"{name}_bucket"):
            le = ln.split('le="')[1].split('"')[0]
            buckets.append((float(le), float(ln.split()[-1])))
    if not buckets or buckets[-1][1] == 0:
        return "no data"
    total = buckets[-1][1]
    out = []
    for q in (0.5, 0.99):
        le = next(b for b, n in buckets if n >= q * total)
        out.append(f"p{int(q * 100)} <= {le * 1000:g} ms")
    return ", ".join(out) + f" ({total:.0f} batches)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--circuits", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--warmup", type=float, default=5, help="seconds of start-up not measured (the first "
        "4,000 path transitions take ~15 s to journal: 30 measures the steady state alone)"
    )  # fmt: skip
    args = parser.parse_args()
    topo = Topology.build(f"swd{os.getpid() % 10000}")
    tmp = Path(tempfile.mkdtemp(prefix="slawatch-bench-"))
    try:
        addrs = topo.add_targets(args.circuits * 4, behind="gw")
        cfg = {
            "probe_interval_s": 1,
            "probe_timeout_s": 1,
            "journal": str(tmp / "journal.db"),
            "http": {"listen": f"{topo.noc_mgmt_address}:9799"},
            "notify": {"maildir": str(tmp / "maildir")},
            "circuits": [
                {
                    "id": f"c{c:04d}",
                    "monthly_fee_yen": 300000,
                    "contacts": ["x@example.com"],
                    "paths": [
                        {"router": r, "demarc": d, "address": addrs[c * 4 + i]}
                        for i, (r, d) in enumerate(
                            (r, d) for r in ("active", "standby") for d in ("primary", "secondary")
                        )
                    ],
                }
                for c in range(args.circuits)
            ],
        }
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        log = open(tmp / "daemon.log", "wb")  # noqa: SIM115
        proc = topo.popen(
            "noc",
            [
                sys.executable,
                "-m",
                "monitor",
                "run",
                "--config",
                str(tmp / "config.yaml"),
                "--log-level",
                "WARNING",
            ],
            stdout=log,
            stderr=log,
            cwd=str(ROOT),
            env={**os.environ, "SLAWATCH_LATENESS_REPORT": "1"},
        )
        time.sleep(args.warmup)  # start-up and first probes: not measured
        cpu0, _ = proc_stats(proc.pid)
        t0 = time.monotonic()
        time.sleep(args.seconds)
        cpu1, peak = proc_stats(proc.pid)
        wall = time.monotonic() - t0
        metrics = subprocess.run(
            ["curl", "-s", f"http://{topo.noc_mgmt_address}:9799/metrics"],
            capture_output=True,
            text=True,
        ).stdout
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        probes = {
            ln.split()[0]: float(ln.split()[1])
            for ln in metrics.splitlines()
            if ln.startswith("slawatch_probes_total{")
        }
        late = _quantiles(metrics, "slawatch_probe_tick_lateness_seconds")
        size = sum(f.stat().st_size for f in tmp.glob("journal.db*"))
        print(f"{args.circuits} circuits x 4 paths at 1 s, {wall:.0f} s measured after "
              f"{args.warmup:g} s:")  # fmt: skip
        print(
            f"  CPU {100 * (cpu1 - cpu0) / wall:.1f}% of one core, peak RSS {peak / 1024:.0f} MiB"
        )
        print(f"  journal {size / 1024:.0f} KiB; probes {probes}")
        print(f"  probe tick lateness: {late}")
    finally:
        topo.teardown()


if __name__ == "__main__":
    main()
