"""A region going dark against an unfriendly relay, with the wall clock sped up.

    .venv/bin/python bench/mass_outage_bench.py --scale 5 \
        --circuits 1000 --max-conn 4 --data-delay 1 3 [--tempfail-every 0] \
        [--down-at 0 --down-for 0] [--second-relay] [--recover-at 40] \
        [--gc] [--callbacks] [--stacks] [--profile S] [--tracemalloc FRAMES]

The real shell (Daemon, journal, outbox, Mailer, render) with a scripted prober; the relay is
bench/unfriendly_relay.py in its own process. Every time-like figure of the relay and the mailer is
divided by --scale (DATA delay, relay timeout, backoff base/cap, the claim budget), and the
daemon's wall clock runs --scale times faster than real time, so the 30-minute deadline
takes 1800/scale real seconds. Times printed are WALL (scaled) seconds unless said.

After the recovery it prints the stalls the watchdog recorded, the results dropped as stale
and RSS (bench/RESULTS.md, "a region recovering at once"); --gc the garbage collector's
passes, --callbacks the loop's turns over 0.5 s with each callback's wall and CPU time,
--stacks the loop thread's stack sampled while it is held, --profile/--tracemalloc cProfile
or trace allocations from the recovery on.

Circuits: contacts fault{c}-ja (ja) on every circuit, fault{c}-en (en) on every even one;
escalation group 'esc' after 15 min (one ja contact). NOC: noc@noc.example.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import config  # noqa: E402
from monitor.core.inputs import Tick  # noqa: E402
from monitor.core.retry import Backoff  # noqa: E402
from monitor.metrics import Metrics  # noqa: E402
from monitor.notify.mailer import Mailer  # noqa: E402
from monitor.service import notifier as notifier_mod  # noqa: E402
from monitor.service.daemon import Daemon  # noqa: E402
from monitor.service.transports import build_relays  # noqa: E402
from monitor.store import open_store  # noqa: E402
from monitor.store.aio import AsyncStore  # noqa: E402
from tests.service.harness import ScriptedProber  # noqa: E402
from tests.support import free_port  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_probes import Callbacks, Collections, Stacks, Watch, rss  # noqa: E402


class FastWall:
    """Wall time running ``k`` times faster than the monotonic clock."""

    def __init__(self, k: float) -> None:
        self.k = k
        self.t0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
        self.m0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.t0 + timedelta(seconds=(time.monotonic() - self.m0) * self.k)

    def wall_s(self) -> float:
        return (time.monotonic() - self.m0) * self.k


def settings(tmp: Path, args: argparse.Namespace, ports: list[int]) -> config.Settings:
    k = args.scale
    return config.parse(
        {
            "probe_interval_s": 1,
            "probe_timeout_s": 1,
            "journal": str(tmp / "j.db"),
            "notify": {
                "from": "slawatch@noc.example",
                "noc": ["noc@noc.example"],
                "smtp": [
                    {
                        "name": f"r{i}",
                        "host": "127.0.0.1",
                        "port": p,
                        "tls": "none",
                        "timeout_s": args.relay_timeout / k,
                    }
                    for i, p in enumerate(ports)
                ],
            },
            "circuits": [
                {
                    "id": f"c{c:04d}",
                    "monthly_fee_yen": 300000,
                    "contacts": [{"address": f"fault{c}-ja@cust.example", "lang": "ja"}]
                    + (
                        [{"address": f"fault{c}-en@cust.example", "lang": "en"}]
                        if c % 2 == 0
                        else []
                    ),
                    "escalation": [
                        {"name": "esc", "after_min": 15, "contacts": [f"esc{c}@cust.example"]}
                    ],
                    "paths": [
                        {
                            "router": r,
                            "demarc": d,
                            "address": f"127.{c // 200}.{c % 200}.{host(r, d)}",
                        }
                        for r in ("active", "standby")
                        for d in ("primary", "secondary")
                    ],
                }
                for c in range(args.circuits)
            ],
        },
        "mass-outage bench",
    )


def host(router: str, demarc: str) -> int:
    """The last octet of a path's loopback address: each path its own."""
    return 1 + 2 * (router == "standby") + (demarc == "secondary")


def waiting(d: Any) -> int | str:
    """Deliveries under way in the daemon's notifier."""
    return len(d._notifier._deliveries) if d._notifier else "?"


def count(events: list[dict[str, Any]], kind: str) -> int:
    return sum(1 for e in events if e["ev"] == kind)


def relay_proc(port: int, log: Path, args: argparse.Namespace, *, second: bool) -> subprocess.Popen:
    k = args.scale
    relay = Path(__file__).resolve().parent / "unfriendly_relay.py"
    cmd = [sys.executable, str(relay), "--port", str(port),
           "--log", str(log),
           "--max-conn", str(args.max_conn2 if second else args.max_conn),
           "--data-delay", str(args.data_delay[0] / k), str(args.data_delay[1] / k),
           "--tempfail-every", str(0 if second else args.tempfail_every)]  # fmt: skip
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    return p


async def run(args: argparse.Namespace, tmp: Path) -> None:
    k = args.scale
    notifier_mod.CLAIM_BUDGET_S = 300.0 / k
    ports = [free_port()] + ([free_port()] if args.second_relay else [])
    logs = [tmp / f"relay{i}.jsonl" for i in range(len(ports))]
    relays = [
        relay_proc(p, lg, args, second=i > 0)
        for i, (p, lg) in enumerate(zip(ports, logs, strict=True))
    ]
    try:
        s = settings(tmp, args, ports)
        wall = FastWall(k)
        prober = ScriptedProber(wall)  # type: ignore[arg-type]
        store = await AsyncStore.open(lambda: open_store(s.journal))
        metrics = Metrics()
        mailer = Mailer(
            build_relays(s), wall=wall, backoff=Backoff(base_s=1.0 / k, cap_s=60.0 / k),
            quit_timeout_s=1.0 / k,
            on_attempt=lambda a: metrics.notification_attempt(str(a.outcome)),
        )  # fmt: skip
        d = Daemon(s.plan(), store=store, prober=prober, transport=mailer, metrics=metrics,
                   wall=wall, watch_clock=False)  # fmt: skip
        await d.start()
        loop = asyncio.get_running_loop()
        lag: list[float] = []

        async def ticker() -> None:
            while True:
                t = loop.time()
                await asyncio.sleep(0.05)
                lag.append(loop.time() - t - 0.05)
                d.feed(Tick())

        tick_task = asyncio.create_task(ticker())
        stacks = Stacks(loop) if args.stacks else None
        callbacks = Callbacks() if args.callbacks else None
        collections_ = Collections() if args.gc else None
        beat = asyncio.create_task(stacks.heartbeat()) if stacks else None
        gaps0 = len(d.sup.gaps)
        await asyncio.sleep(3)  # every path up
        cut_wall = wall.wall_s()
        prober.ok = False
        print(f"cut at wall {cut_wall:.0f} s", flush=True)
        down_done = False
        up_done = False
        recovered = False
        tr = d.sup.tracker
        cids = list(tr.circuit_ids)
        snap: dict[str, tuple[datetime, datetime | None]] = {}
        next_print = 0.0
        while True:
            await asyncio.sleep(0.2)
            w = wall.wall_s() - cut_wall
            if args.down_for and not down_done and w >= args.down_at:
                relays[0].send_signal(signal.SIGUSR1)
                down_done = True
                print(f"[{w:6.0f}] relay r0 DOWN", flush=True)
            if args.down_for and down_done and not up_done and w >= args.down_at + args.down_for:
                relays[0].send_signal(signal.SIGUSR2)
                up_done = True
                print(f"[{w:6.0f}] relay r0 UP", flush=True)
            for c in cids:
                i = tr.open_incident(c)
                if i is not None:
                    snap[c] = (i.detected, i.notified)
            notified = sum(1 for v in snap.values() if v[1] is not None)
            if w >= next_print:
                next_print += 60
                breaches = sum(
                    v for kk, v in _samples(metrics, "slawatch_notification_breaches_total").items()
                )
                lagp = sorted(lag[-400:]) or [0.0]
                print(
                    f"[{w:6.0f}] open {len(snap)} notified {notified} breaches(metric) "
                    f"{breaches:.0f} waiting-in-notifier {waiting(d)} "
                    f"unstored {len(d._notifier._unstored) if d._notifier else '?'} "
                    f"writer-q {_writer_q(d)} looplag p50 {lagp[len(lagp) // 2] * 1000:.0f} ms "
                    f"max {lagp[-1] * 1000:.0f} ms rss {rss()} MiB",
                    flush=True,
                )
            if not recovered and (
                w >= args.recover_at * 60
                or (args.recover_when_notified and notified >= args.circuits)
            ):
                rec_wall, rec_at = wall.wall_s(), wall()
                rss_before = rss()
                stale_before = _stale(metrics)
                prober.ok = True
                recovered = True
                print(f"[{w:6.0f}] paths come back (RECOVERED owed); rss {rss_before} MiB, "
                      f"stale so far {stale_before:.0f}", flush=True)  # fmt: skip
                watch = Watch(args, loop, rss_before)
                if callbacks is not None:
                    print("(before the recovery)")
                    callbacks.report(clear=True)
                if collections_ is not None:
                    collections_.report(clear=True)
                if stacks is not None:
                    print("(before the recovery)")
                    stacks.report(clear=True)
                lag_i, gaps_rec = len(lag), len(d.sup.gaps)
            if recovered:
                watch.sample()
            if recovered and w >= args.recover_at * 60 + args.tail_min * 60:
                break
            if (
                recovered
                and args.recover_when_notified
                and wall.wall_s() - rec_wall > args.tail_min * 60
            ):
                break
        tick_task.cancel()
        watch.done()
        if callbacks is not None:
            callbacks.report()
        if collections_ is not None:
            collections_.report()
        if stacks is not None and beat is not None:
            beat.cancel()
            stacks.report()
        stalls = d.sup.gaps[gaps_rec:]
        print(
            f"\nbefore the recovery: stalls {gaps_rec - gaps0}; after it: stalls {len(stalls)} "
            "(real s: "
            f"{', '.join(f'{(g.end - g.start).total_seconds() / k:.2f}' for g in stalls if g.end)}"
            f"; began at wall s after it: "
            f"{', '.join(f'{(g.start - rec_at).total_seconds():.0f}' for g in stalls)}"
            f"), stale drops {_stale(metrics) - stale_before:.0f}, rss before {rss_before} "
            f"peak {watch.peak} end {rss()} MiB, loop lag max {max(lag[lag_i:]) * 1000:.0f} ms, "
            f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )
        await d.stop()
        await store.close()
    finally:
        for p in relays:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
    report(args, snap, logs, cut_wall, wall, tmp)


def _stale(metrics: Metrics) -> float:
    return _samples(metrics, "slawatch_probe_results_dropped_total").get('{"reason": "stale"}', 0.0)


def _samples(metrics: Metrics, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for fam in metrics.registry.collect():
        for smp in fam.samples:
            if smp.name == name:
                out[json.dumps(smp.labels)] = smp.value
    return out


def _writer_q(d: Daemon) -> str:
    w = d.writer
    for attr in ("_queue", "_jobs", "queue", "_pending"):
        q = getattr(w, attr, None)
        if q is not None:
            try:
                return str(len(q))  # type: ignore[arg-type]
            except TypeError:
                try:
                    return str(q.qsize())
                except Exception:
                    pass
    return "?"


def report(args, snap, logs, cut_wall, wall, tmp) -> None:  # type: ignore[no-untyped-def]
    lat = sorted((n - dt).total_seconds() for dt, n in snap.values() if n is not None)
    un = [c for c, (dt, n) in snap.items() if n is None]
    late = [x for x in lat if x > 1800]
    print(f"\nincidents {len(snap)}; notified {len(lat)} ; never notified {len(un)}; "
          f"notified after 30 min {len(late)}")  # fmt: skip
    if lat:
        print(f"detection->first acceptance (wall s): p50 {lat[len(lat) // 2]:.0f} "
              f"p90 {lat[int(len(lat) * .9)]:.0f} max {lat[-1]:.0f}")  # fmt: skip
    det = {c: dt for c, (dt, n) in snap.items()}
    for i, lg in enumerate(logs):
        evs = [json.loads(x) for x in lg.read_text().splitlines()]
        acc = [e for e in evs if e["ev"] == "250"]
        stats = [e for e in evs if e["ev"] == "stats"]
        by_kind: dict[str, list[float]] = {}
        mids = [e["mid"] for e in acc]
        dup = len(mids) - len(set(mids))
        for e in acc:
            # the relay's real time -> the bench's wall (scaled) seconds since the cut
            by_kind.setdefault(e["kind"], []).append(e["t"])
        print(f"relay r{i}: accepted {len(acc)} (duplicate Message-IDs {dup}), 421 "
              f"{count(evs, '421')}, 451 {count(evs, '451')}, "
              f"peak sessions {max((e['peak'] for e in stats), default=0)}")  # fmt: skip
        for kind, ts in sorted(by_kind.items()):
            print(f"   {kind}: {len(ts)} messages")
        # NOC deadline-at-risk: when did they arrive relative to the incident's deadline?
        risk = []
        for e in acc:
            if e["kind"] == "deadline-at-risk":
                c = e["mid"].split(".")[2] if e["mid"].startswith("<slawatch.") else None
                parts = e["mid"].strip("<>").split("@")[0].split(".")
                c = next((p for p in parts if p.startswith("c") and p[1:].isdigit()), None)
                if c in det:
                    arr = _to_wall(e["t"], wall)
                    risk.append((arr - det[c]).total_seconds())
        if risk:
            risk.sort()
            print(f"   deadline-at-risk arrival after detection (wall s): min {risk[0]:.0f} "
                  f"p50 {risk[len(risk) // 2]:.0f} max {risk[-1]:.0f}; after the deadline "
                  f"(>1800): {sum(1 for r in risk if r > 1800)}")  # fmt: skip
        # acceptance of first message per circuit, from the relay's own log
    print(f"journal dir {tmp}")


def _to_wall(t_real_epoch: float, wall: FastWall) -> datetime:
    # relay stamps time.time(); map to monotonic via the offset now
    off = time.time() - time.monotonic()
    mono = t_real_epoch - off
    return wall.t0 + timedelta(seconds=(mono - wall.m0) * wall.k)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=float, default=10)
    p.add_argument("--circuits", type=int, default=1000)
    p.add_argument("--max-conn", type=int, default=4)
    p.add_argument("--max-conn2", type=int, default=1000)
    p.add_argument("--data-delay", type=float, nargs=2, default=(1.0, 3.0))
    p.add_argument("--tempfail-every", type=int, default=0)
    p.add_argument("--relay-timeout", type=float, default=10.0, help="wall s (config timeout_s)")
    p.add_argument("--down-at", type=float, default=0.0, help="wall s after the cut")
    p.add_argument("--down-for", type=float, default=0.0, help="wall s")
    p.add_argument("--second-relay", action="store_true")
    p.add_argument("--recover-at", type=float, default=40.0, help="wall min after the cut")
    p.add_argument("--recover-when-notified", action="store_true")
    p.add_argument("--tail-min", type=float, default=10.0, help="wall min after recovery")
    p.add_argument(
        "--profile",
        type=float,
        default=0.0,
        help="cProfile the loop for this many real seconds from the recovery",
    )
    p.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        help="trace allocations from the recovery (this many frames)",
    )
    p.add_argument("--stacks", action="store_true", help="sample the loop's stack in stalls")
    p.add_argument("--callbacks", action="store_true", help="time the loop's long callbacks")
    p.add_argument("--gc", action="store_true", help="time the garbage collector's passes")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mass-outage-", dir="/tmp"))
    print(f"args {vars(args)}", flush=True)
    asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
