"""The real daemon probing N paths at 1 s intervals in namespaces (issues 4 and 16).

    sudo .venv/bin/python bench/daemon_bench.py [--paths 10000] [--seconds 60] [--warmup 10]
                                                [--loss PERCENT] [--peer-only]

Builds a topology (tests/topology.py) with N answering addresses behind the gateway
namespace (N/4 circuits of 4 paths), runs the real ``slawatch run`` in the NOC namespace, lets
it settle for ``--warmup`` seconds (start-up, every path's first transition to up) and then
measures ``--seconds`` seconds:

* CPU % of one core and peak RSS of the daemon (from /proc);
* probe results in the window (``slawatch_probes_total``, ok and fail) against the number the
  schedule owes (paths x seconds / interval): "lost" is every failed result plus any shortfall
  beyond one interval's worth (the results in flight at either edge of the window);
* tick lateness p50/p99 in the window (``slawatch_probe_tick_lateness_seconds``: histogram
  bucket bounds, so the figures are upper bounds);
* journal growth over the window, per hour (its pages as a reader sees them, WAL included);
* RTTs: the last RTT of every path from ``/api/circuits`` at the end of the window, beside
  ``fping -C 3`` to the same addresses run in the NOC at the same moment (min/avg/max over the
  paths of each tool's per-path figure).

``--loss PERCENT`` drops that share of the echo requests at random (nftables in the gateway
namespace) and counts the results the core dropped as out of order (``stale``): a batch with a
loss ends only at its timeout, and must still reach the core before the same paths' next.

``--peer-only`` measures instead what the probing alone costs on this machine: ``fping -c 6
-p 1000 -i 0`` (every address once a second, as the daemon's schedule; fewer rounds where
6 x N would pass fping's 65,536 sequence numbers, which also rule out its loop mode ``-l`` at
10,000 addresses) over the same addresses in the NOC: its CPU per echo, and as a share of a
core at N echoes a second. The kernel's work
for an echo (the request through the veth, the reply made in the target's namespace and
queued to the raw socket) is charged to the process that sends it, so this is the floor under
any prober's figure here.

Targets (issue 16, at 10,000 paths): < 25 % of one core, < 200 MB RSS, 0 lost results, tick
lateness p99 <= 10 ms, RTTs within 0.05 ms of fping's. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.topology import Topology  # noqa: E402

ROLES = [(r, d) for r in ("active", "standby") for d in ("primary", "secondary")]


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS kB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu, status_kb(pid, "VmHWM")


def status_kb(pid: int, field: str) -> int:
    """A /proc/PID/status figure (in kB for VmHWM, peak RSS, and VmRSS, RSS now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def threads_sum(pid: int, field: str) -> int:
    """A /proc/PID/task/*/status figure summed over the process's threads (e.g. its
    voluntary context switches: how often its threads went to sleep)."""
    return sum(status_kb(int(t.name), field) for t in Path(f"/proc/{pid}/task").iterdir())


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return str(r.read().decode())


def samples(metrics: str) -> dict[str, float]:
    """Every sample line of an exposition, by its name and labels."""
    out = {}
    for ln in metrics.splitlines():
        if ln and not ln.startswith("#"):
            name, value = ln.rsplit(" ", 1)
            out[name] = float(value)
    return out


def quantiles(before: dict[str, float], after: dict[str, float], name: str) -> str:
    """p50 and p99 upper bounds of a histogram over the window (cumulative bucket deltas)."""
    buckets = sorted(
        (float(k.split('le="')[1].split('"')[0]), after[k] - before.get(k, 0.0))
        for k in after
        if k.startswith(f"{name}_bucket")
    )
    total = buckets[-1][1] if buckets else 0
    if not total:
        return "no data"
    bounds = [next(le for le, n in buckets if n >= q * total) for q in (0.5, 0.99)]
    return f"p50 <= {bounds[0] * 1000:g} ms, p99 <= {bounds[1] * 1000:g} ms ({total:.0f} batches)"


def journal_bytes(tmp: Path) -> int:
    """The journal's logical size: its pages as a reader sees them now (the WAL's included),
    which, unlike the files' sizes, does not jump with checkpoints."""
    with contextlib.closing(sqlite3.connect(f"file:{tmp / 'journal.db'}?mode=ro", uri=True)) as db:
        pages, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size"))
    return int(pages) * int(size)


def spread(values: list[float]) -> str:
    """min / avg / max (ms) of per-path figures, with the median."""
    return (
        f"{min(values):.3f} / {statistics.fmean(values):.3f} / {max(values):.3f} "
        f"(median {statistics.median(values):.3f})"
    )


def fping_avgs(topo: Topology, addrs: list[str], tmp: Path) -> list[float]:
    """Each address's average RTT (ms) over ``fping -C 3``, run in the NOC now."""
    file = tmp / "targets.txt"
    file.write_text("\n".join(addrs) + "\n")
    done = topo.ns_exec("noc", "fping", "-C", "3", "-q", "-p", "1000", "-i", "0", "-t", "1000",
                        "-f", str(file), check=False)  # fmt: skip
    avgs = []
    for line in done.stderr.splitlines():
        rtts = [float(x) for x in line.split(" : ")[1].split() if x != "-"] if " : " in line else []
        if rtts:
            avgs.append(statistics.fmean(rtts))
    return avgs


def config(tmp: Path, addrs: list[str], http: str) -> Path:
    cfg = {
        "probe_interval_s": 1,
        "probe_timeout_s": 1,
        "journal": str(tmp / "journal.db"),
        "http": {"listen": http},
        "notify": {"maildir": str(tmp / "maildir")},
        "circuits": [
            {
                "id": f"c{c:05d}",
                "monthly_fee_yen": 300000,
                "contacts": ["x@example.com"],
                "paths": [
                    {"router": r, "demarc": d, "address": addrs[c * 4 + i]}
                    for i, (r, d) in enumerate(ROLES)
                ],
            }
            for c in range(len(addrs) // 4)
        ],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def lose(topo: Topology, percent: float) -> None:
    """Drop ``percent`` of the echo requests at random where they are answered (nftables in
    the gateway namespace, which answers every target)."""
    rules = f"""table inet swloss {{
  chain input {{
    type filter hook input priority 0;
    icmp type echo-request numgen random mod 10000 < {round(percent * 100)} drop
  }}
}}
"""
    topo.ns_exec("gw", "nft", "-f", "-", input=rules)


def measure(topo: Topology, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    addrs = topo.add_targets(args.paths // 4 * 4, behind="gw")
    if args.loss:
        lose(topo, args.loss)
    base = f"http://{topo.noc_mgmt_address}:9799"
    cfg = config(tmp, addrs, f"{topo.noc_mgmt_address}:9799")
    with open(tmp / "daemon.log", "wb") as log:
        cmd = [sys.executable, "-m", "monitor", "run", "--config", str(cfg),
               "--log-level", "WARNING"]  # fmt: skip
        proc = topo.popen("noc", cmd, stdout=log, stderr=log, cwd=str(ROOT))
        try:
            time.sleep(args.warmup)
            # The window runs from one scrape's answer to the next's (its counters'
            # moments), and so includes one scrape's cost, as a monitored daemon would.
            before, size0 = samples(fetch(f"{base}/metrics")), journal_bytes(tmp)
            cpu0, t0 = proc_stats(proc.pid)[0], time.monotonic()
            waits0 = threads_sum(proc.pid, "voluntary_ctxt_switches")
            time.sleep(args.seconds)
            after, size1 = samples(fetch(f"{base}/metrics")), journal_bytes(tmp)
            cpu1, peak = proc_stats(proc.pid)
            waits1 = threads_sum(proc.pid, "voluntary_ctxt_switches")
            now_kb = status_kb(proc.pid, "VmRSS")  # before the API's answer below adds to it
            wall = time.monotonic() - t0
            circuits = json.loads(fetch(f"{base}/api/circuits"))
            fping = fping_avgs(topo, addrs, tmp)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    ok, fail = (
        after[f'slawatch_probes_total{{result="{r}"}}']
        - before.get(f'slawatch_probes_total{{result="{r}"}}', 0.0)
        for r in ("ok", "fail")
    )
    owed = len(addrs) * wall  # at 1 s intervals
    stale, unknown = (
        after.get(f'slawatch_probe_results_dropped_total{{reason="{r}"}}', 0.0)
        - before.get(f'slawatch_probe_results_dropped_total{{reason="{r}"}}', 0.0)
        for r in ("stale", "unknown")
    )
    rtts = [p["rtt_ms"] for c in circuits for p in c["paths"] if p["rtt_ms"] is not None]
    return {
        "paths": len(addrs),
        "wall": wall,
        "cpu": 100 * (cpu1 - cpu0) / wall,
        "wakeups": (waits1 - waits0) / wall,
        "rss_mib": peak / 1024,
        "rss_end_mib": now_kb / 1024,
        "ok": ok,
        "fail": fail,
        "owed": owed,
        "lost": fail + max(0.0, owed - (ok + fail) - len(addrs)),
        "loss_percent": args.loss,
        "dropped_stale": stale,
        "dropped_unknown": unknown,
        "late": quantiles(before, after, "slawatch_probe_tick_lateness_seconds"),
        "stalls": after.get("slawatch_loop_stalls_total", 0.0),  # since the start
        "clock_steps": after.get("slawatch_clock_steps_total", 0.0),
        "journal_per_hour_kib": (size1 - size0) / wall * 3600 / 1024,
        "journal_kib": size1 / 1024,
        "daemon_rtt": spread(rtts) if rtts else "none",
        "daemon_rtt_n": len(rtts),
        "fping_rtt": spread(fping) if fping else "none",
        "fping_rtt_n": len(fping),
    }


def measure_peer(topo: Topology, args: argparse.Namespace, tmp: Path) -> str:
    """fping alone over the same addresses at the same rate (module docstring)."""
    addrs = topo.add_targets(args.paths // 4 * 4, behind="gw")
    file = tmp / "targets.txt"
    file.write_text("\n".join(addrs) + "\n")
    rounds = max(1, min(6, 60_000 // len(addrs)))  # fping holds 65,536 sequence numbers
    cmd = ["fping", "-c", str(rounds), "-q", "-p", "1000", "-i", "0", "-t", "1000", "-f",
           str(file)]  # fmt: skip
    t0 = time.monotonic()
    proc = topo.popen("noc", cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # `ip netns exec` execs: the pid is fping's
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu, echoes = usage.ru_utime + usage.ru_stime, rounds * len(addrs)
    return (f"fping -c {rounds} -p 1000 -i 0 over {len(addrs):,} addresses (exit "
            f"{proc.returncode}): {cpu:.2f} CPU s for {echoes:,} echoes in {wall:.1f} s, "
            f"{cpu / echoes * 1e6:.1f} us an echo: {cpu / echoes * len(addrs) * 100:.1f} % "
            f"of one core at {len(addrs):,} echoes a second; peak RSS "
            f"{usage.ru_maxrss / 1024:.1f} MiB")  # fmt: skip


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['paths']:,} paths at 1 s, {r['wall']:.0f} s measured:",
            "",
            "| figure | measured | target |",
            "|---|---|---|",
            f"| CPU | {r['cpu']:.1f} % of one core | < 25 % |",
            f"| wake-ups (sleeps, all threads) | {r['wakeups']:,.0f} a second | |",
            f"| peak RSS | {r['rss_mib']:.0f} MiB ({r['rss_end_mib']:.0f} MiB at the window's end) "
            "| < 200 MB |",
            f"| probe results | {r['ok']:,.0f} ok, {r['fail']:,.0f} failed, of ~{r['owed']:,.0f} "
            f"owed; lost {r['lost']:,.0f} | 0 lost |",
            f"| tick lateness | {r['late']} | p99 <= 10 ms |",
            f"| loop stalls recorded as gaps / clock steps, since the start | "
            f"{r['stalls']:.0f} / {r['clock_steps']:.0f} | 0 |",
            f"| results the core dropped as out of order (stale) / unknown | "
            f"{r['dropped_stale']:,.0f} / {r['dropped_unknown']:,.0f} "
            f"(echo requests dropped at random: {r['loss_percent']:g} %) | 0 |",
            f"| journal growth | {r['journal_per_hour_kib']:,.0f} KiB per hour "
            f"({r['journal_kib']:,.0f} KiB at the end) | |",
            f"| RTT, daemon (last per path, {r['daemon_rtt_n']:,} paths) | {r['daemon_rtt']} ms | "
            "within 0.05 ms of fping |",
            f"| RTT, fping -C 3 (avg per path, {r['fping_rtt_n']:,} paths) | {r['fping_rtt']} ms "
            "| |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--peer-only", action="store_true",
                        help="measure fping's loop over the same addresses instead")  # fmt: skip
    parser.add_argument("--loss", type=float, default=0.0, metavar="PERCENT",
                        help="drop this share of echo requests at random")  # fmt: skip
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: it builds network namespaces", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that teardown runs
    topo = Topology.build(f"swd{os.getpid() % 10000}")
    tmp = Path(tempfile.mkdtemp(prefix="slawatch-bench-"))
    try:
        if args.peer_only:
            print(measure_peer(topo, args, tmp))
            return 0
        result = measure(topo, args, tmp)
    finally:
        topo.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result), file=sys.stderr)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
