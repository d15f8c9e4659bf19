"""ICMP benchmark (issues 3 and 16): slawatch against fping, aioping and icmplib.

Run by hand, as root, from the repository (not a test; about two minutes)::

    sudo .venv/bin/python bench/icmp_bench.py [--targets 4096] [--rounds 5] [--no-others]

It builds its own namespaces (prefix ``swb<pid>``: the test topology with ``add_targets``:
4,096 addresses answered by one namespace behind the NOC, so the NOC needs one neighbour
entry), then runs each tool in the NOC, one after the other, on the same targets:

* ``fping -c ROUNDS -p PERIOD -i 0 -t 1000`` beside ``slawatch ping --count ROUNDS --period
  PERIOD --timeout 1``, at 200 ms and at 1 s: whole processes (interpreter start-up
  included), one run each; replies and per-target min/avg/max RTTs read from both tools'
  summary lines (the RTT table compares them);
* ``fping -C ROUNDS -q -p 1000 -i 0.2`` and ``-i 0``: a round per second, each round paced
  over ~0.8 s, or sent back to back (fping's CPU per probe depends mostly on its pacing);
* the engine alone, per round (a child that times each round with getrusage);
* the engine at a steady 10,000 probes/s for 10 s, batched every 5 ms as the daemon's
  scheduler does: the CPU a monitor of 10,000 paths at 1 s would need;
* aioping and icmplib, installed into a throwaway venv under /tmp (never the project's);
  ``--no-others`` skips them.

For each: replies received, wall time, CPU seconds (user + system, of the child, from
wait4: the kernel's work answering the echoes in the target namespace runs in the sender's
context and is counted for every tool alike), CPU per 1,000 probes, peak RSS. Results are
printed as Markdown tables to paste into bench/RESULTS.md. monitor/ is byte-compiled first
(as an installed package is), so no run pays for compiling it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV = Path("/tmp/slawatch-bench-venv")
OTHERS = {"aioping": "aioping==0.4.0", "icmplib": "icmplib==3.0.4"}
PERIODS = (("0.2", "200"), ("1", "1000"))
"""(slawatch ping --period, fping -p) pairs run side by side."""

# -- children: each runs inside the NOC namespace and prints one JSON line --------------------


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rounds(rounds: int, period: float, one_round: Any) -> list[dict[str, float]]:
    """Run ``one_round()`` (returns replies received) ``rounds`` times, ``period`` apart."""
    out, start = [], time.monotonic()
    for n in range(rounds):
        time.sleep(max(0.0, start + n * period - time.monotonic()))
        wall, cpu = time.monotonic(), _cpu()
        received = one_round()
        out.append({"received": received, "wall_s": time.monotonic() - wall, "cpu_s": _cpu() - cpu})
    return out


def child_engine(targets: list[str], rounds: int) -> dict[str, Any]:
    from monitor.probes.icmp import IcmpEngine

    async def main() -> list[dict[str, float]]:
        async with IcmpEngine() as engine:
            loop = asyncio.get_running_loop()
            out, start = [], loop.time()
            for n in range(rounds):
                await asyncio.sleep(max(0.0, start + n - loop.time()))
                wall, cpu = loop.time(), _cpu()
                results = await engine.probe_many(targets, timeout=1.0)
                received = sum(r.ok for r in results)
                out.append(
                    {"received": received, "wall_s": loop.time() - wall, "cpu_s": _cpu() - cpu}
                )
            return out

    return {"rounds": asyncio.run(main())}


def child_steady(targets: list[str], rate: int, seconds: float) -> dict[str, Any]:
    """``rate`` probes/s in batches every 5 ms (the daemon scheduler's window), cycling
    through the targets, for 1 s of warm-up and then ``seconds`` measured."""
    from monitor.probes.icmp import IcmpEngine

    async def main() -> dict[str, Any]:
        async with IcmpEngine() as engine:
            loop = asyncio.get_running_loop()
            per_batch, tick = rate // 200, 0.005
            measured: list[asyncio.Future[Any]] = []
            warm: list[asyncio.Future[Any]] = []
            start = loop.time()
            cpu0, wall0 = 0.0, 0.0
            for n in range(int((seconds + 1) / tick)):
                if n == int(1 / tick):
                    cpu0, wall0 = _cpu(), loop.time()
                batch = [targets[(n * per_batch + k) % len(targets)] for k in range(per_batch)]
                batches = measured if wall0 else warm
                batches.append(asyncio.ensure_future(engine.probe_many(batch, timeout=1.0)))
                await asyncio.sleep(max(0.0, start + (n + 1) * tick - loop.time()))
            cpu, wall = _cpu() - cpu0, loop.time() - wall0
            results = [r for f in await asyncio.gather(*measured, *warm) for r in f]
            counted = results[: len(measured) * per_batch]
            return {
                "sent": len(counted),
                "received": sum(r.ok for r in counted),
                "cpu_s": cpu,
                "wall_s": wall,
            }

    return asyncio.run(main())


def child_aioping(targets: list[str], rounds: int) -> dict[str, Any]:
    import aioping  # type: ignore[import-not-found]

    async def one(t: str) -> bool:
        try:
            await aioping.ping(t, timeout=1.0)
            return True
        except (TimeoutError, OSError):
            return False

    def one_round() -> int:
        async def all_targets() -> int:
            return sum(await asyncio.gather(*(one(t) for t in targets)))

        return asyncio.run(all_targets())

    return {"rounds": _rounds(rounds, 1.0, one_round)}


def child_icmplib(targets: list[str], rounds: int) -> dict[str, Any]:
    from icmplib import multiping  # type: ignore[import-not-found]

    def one_round() -> int:
        hosts = multiping(targets, count=1, timeout=1.0, concurrent_tasks=512, privileged=True)
        return sum(h.is_alive for h in hosts)

    return {"rounds": _rounds(rounds, 1.0, one_round)}


CHILDREN = {
    "engine": child_engine,
    "aioping": child_aioping,
    "icmplib": child_icmplib,
}

# -- the parent: topology, runs, table ---------------------------------------------------------


def run_measured(topo: Any, cmd: list[str]) -> tuple[str, str, dict[str, Any]]:
    """Run ``cmd`` in the NOC; its stdout, stderr and own wall, CPU and peak RSS
    (``ip netns exec`` execs in place, so the pid's rusage is the command's)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = topo.popen("noc", cmd, stdout=out, stderr=err)  # files: no pipe to fill up
        _, status, ru = os.wait4(proc.pid, 0)  # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        usage = {
            "wall_s": time.monotonic() - start,
            "cpu_s": ru.ru_utime + ru.ru_stime,
            "rss_mib": ru.ru_maxrss / 1024,
            "exit": proc.returncode,
        }
        out.seek(0)
        err.seek(0)
        return out.read().decode(errors="replace"), err.read().decode(errors="replace"), usage


def other_venv() -> str | None:
    """Python of a throwaway venv with aioping and icmplib, or None if not installable."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *OTHERS.values()],
        capture_output=True,
        text=True,
    )
    if pip.returncode:
        print(f"aioping/icmplib not installable: {pip.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return str(python)


def fping_received(stderr: str) -> int:
    """Replies in ``fping -C`` output: lines ``addr : 0.05 0.04 - 0.03``, "-" is a loss."""
    return sum(
        tok != "-"
        for line in stderr.splitlines()
        if " : " in line
        for tok in line.split(" : ")[1].split()
    )


def summaries(text: str) -> dict[str, tuple[int, tuple[float, float, float] | None]]:
    """Per target, (replies, (min, avg, max) ms or None) from the summary lines that ``fping
    -c -q`` and ``slawatch ping`` both print: ``addr : xmt/rcv/%loss = 5/5/0%, min/avg/max =
    0.031/0.052/0.090`` (slawatch adds " ms")."""
    out: dict[str, tuple[int, tuple[float, float, float] | None]] = {}
    for line in text.splitlines():
        if " : xmt/rcv/%loss = " not in line:
            continue
        target, rest = line.split(" : ", 1)
        received = int(rest.split(" = ")[1].split("/")[1])
        rtts = None
        if "min/avg/max = " in rest:
            low, avg, high = rest.split("min/avg/max = ")[1].split()[0].split("/")
            rtts = (float(low), float(avg), float(high))
        out[target.strip()] = (received, rtts)
    return out


def rtt_row(run: str, tool: str, by_target: dict[str, Any]) -> str:
    """One line of the RTT table: over the targets that answered, the lowest minimum, the
    mean and median of the averages and the highest maximum (ms)."""
    figs = [rtts for _, rtts in by_target.values() if rtts is not None]
    if not figs:
        return f"| {run} | {tool} | 0 | | | | |"
    avgs = [f[1] for f in figs]
    return (
        f"| {run} | {tool} | {len(figs):,} | {min(f[0] for f in figs):.3f} | "
        f"{statistics.fmean(avgs):.4f} | {statistics.median(avgs):.3f} | "
        f"{max(f[2] for f in figs):.3f} |"
    )


def side_by_side(topo: Any, file: Path, rounds: int, sent: int) -> tuple[list[Any], list[str]]:
    """fping -c beside slawatch ping at each period: whole processes, one run each."""
    rows, rtts = [], []
    for period_s, period_ms in PERIODS:
        _, err, fu = run_measured(
            topo, ["fping", "-c", str(rounds), "-p", period_ms, "-i", "0", "-t", "1000", "-q",
                   "-f", str(file)]
        )  # fmt: skip
        out, _, su = run_measured(
            topo, [sys.executable, "-m", "monitor", "ping", "--count", str(rounds), "--period",
                   period_s, "--timeout", "1", "-f", str(file)]
        )  # fmt: skip
        f, sw = summaries(err), summaries(out)
        fname = f"fping -c{rounds} -p{period_ms} -i0 -t1000"
        sname = f"slawatch ping --count {rounds} --period {period_s} --timeout 1"
        rows.append(row(fname, sent, sum(r for r, _ in f.values()), fu, []))
        rows.append(row(sname, sent, sum(r for r, _ in sw.values()), su, []))
        rows[-1]["vs_fping"] = su["cpu_s"] / fu["cpu_s"]
        run = f"{rounds} rounds, {period_ms} ms apart"
        rtts += [rtt_row(run, "fping", f), rtt_row(run, "slawatch ping", sw)]
    return rows, rtts


def row(
    name: str, sent: int, received: int, u: dict[str, Any], rounds: list[Any]
) -> dict[str, Any]:
    per_round = f"{sum(r['wall_s'] for r in rounds) / len(rounds):.3f}" if rounds else "n/a"
    round_cpu = sum(r["cpu_s"] for r in rounds) if rounds else None
    return {
        "tool": name,
        "sent": sent,
        "received": received,
        "wall_s": u["wall_s"],
        "round_wall_s": per_round,
        "cpu_s": u["cpu_s"],
        "cpu_ms_per_1000": 1e6 * u["cpu_s"] / sent,
        "round_cpu_ms_per_1000": None if round_cpu is None else 1e6 * round_cpu / sent,
        "probes_per_cpu_s": sent / u["cpu_s"] if u["cpu_s"] else float("inf"),
        "rss_mib": u["rss_mib"],
        "exit": u["exit"],
    }


def bench(
    topo: Any, n: int, rounds: int, others: bool
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    targets = topo.add_targets(n)
    file = Path(f"/tmp/swbench-targets-{os.getpid()}.txt")
    file.write_text("\n".join(targets) + "\n")
    me, sent = str(Path(__file__).resolve()), n * rounds
    try:
        rows, rtts = side_by_side(topo, file, rounds, sent)
        for interval in ("0.2", "0"):  # fping's CPU per probe depends on its pacing
            _, err, u = run_measured(
                topo, ["fping", "-C", str(rounds), "-q", "-p", "1000", "-i", interval,
                       "-t", "1000", "-f", str(file)]
            )  # fmt: skip
            name = f"fping -C{rounds} -q -p1000 -i{interval}"
            rows.append(row(name, sent, fping_received(err), u, []))

        kinds = [("engine", sys.executable), *((k, other_venv()) for k in OTHERS if others)]
        for kind, python in kinds:
            if python is None:
                rows.append({"tool": kind, "error": "not installable here"})
                continue
            out, err, u = run_measured(topo, [python, me, "--child", kind, str(file), str(rounds)])
            if u["exit"] != 0:
                rows.append({"tool": kind, "error": err.strip()[-300:]})
                continue
            res = json.loads(out)["rounds"]
            name = "slawatch engine (child)" if kind == "engine" else kind
            rows.append(row(name, sent, sum(r["received"] for r in res), u, res))

        out, err, u = run_measured(
            topo, [sys.executable, me, "--child", "steady", str(file), "10000", "10"]
        )
        steady = json.loads(out) if u["exit"] == 0 else {"error": err[-300:]}
    finally:
        file.unlink()
    return rows, steady, rtts


def table(rows: list[dict[str, Any]], steady: dict[str, Any], rtts: list[str]) -> str:
    lines = [
        "| tool | sent | received | wall s (total) | wall s per round | CPU s | "
        "CPU ms / 1,000 probes | probes per CPU-s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['tool']} | {r['error']} |||||||")
            continue
        lines.append(
            f"| {r['tool']} | {r['sent']} | {r['received']} | {r['wall_s']:.2f} | "
            f"{r['round_wall_s']} | {r['cpu_s']:.3f} | {r['cpu_ms_per_1000']:.1f}"
            + (
                f" ({r['round_cpu_ms_per_1000']:.1f} in rounds)"
                if r["round_cpu_ms_per_1000"]
                else ""
            )
            + f" | {r['probes_per_cpu_s']:,.0f} | {r['rss_mib']:.1f} |"
        )
    ratios = [f"{r['tool']}: {r['vs_fping']:.2f}x" for r in rows if "vs_fping" in r]
    lines.append(f"\nCPU against fping's beside it: {'; '.join(ratios)}.")
    if "error" not in steady:
        share = steady["cpu_s"] / steady["wall_s"]
        lines.append(
            f"\nSteady 10,000 probes/s for {steady['wall_s']:.1f} s (batches every 5 ms): "
            f"{steady['sent']} sent, {steady['received']} received, CPU {steady['cpu_s']:.2f} s "
            f"= {100 * share:.1f} % of one core."
        )
    else:
        lines.append(f"\nSteady run failed: {steady['error']}")
    lines += [
        "\nRTTs (ms) over the targets that answered: lowest per-target minimum, mean and median"
        " of the per-target averages, highest per-target maximum.\n",
        "| run | tool | targets | min | avg (mean) | avg (median) | max |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rtts,
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-others", dest="others", action="store_false",
                        help="skip aioping and icmplib")  # fmt: skip
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, file, *rest = args.child
        targets = Path(file).read_text().split()
        if kind == "steady":
            result = child_steady(targets, int(rest[0]), float(rest[1]))
        else:
            result = CHILDREN[kind](targets, int(rest[0]))
        print(json.dumps(result))
        return 0
    if os.geteuid() != 0:
        print("run as root: it builds network namespaces", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from tests.topology import Topology

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that teardown runs
    # As an installed package is: no run should pay for compiling monitor/ (PYTHONDONTWRITEBYTECODE
    # would otherwise make every `slawatch ping` compile it afresh).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "monitor")], check=True)
    topo = Topology.build(f"swb{os.getpid() % 10000}", mgmt=False)  # never another run's
    try:
        rows, steady, rtts = bench(topo, args.targets, args.rounds, args.others)
    finally:
        topo.teardown()
    print(json.dumps({"rows": rows, "steady": steady}), file=sys.stderr)
    print(table(rows, steady, rtts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
