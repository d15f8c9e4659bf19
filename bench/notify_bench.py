"""1,000 incidents at once (a whole region going dark): how long until every notice is accepted?

    .venv/bin/python bench/notify_bench.py [--circuits 1000]

The real shell (Daemon, journal, outbox, Mailer) with a scripted prober (every path fails at
once) and a real aiosmtpd on 127.0.0.1. Reports the time from the last detection to the last
acceptance, and the detection->acceptance latency distribution. Target (issue 5): all under 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import config
from monitor.metrics import Metrics
from monitor.service.daemon import Daemon
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import ScriptedProber


class Wall:
    def __call__(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime.now(UTC)


async def _all_notified(daemon: Daemon, circuits: int) -> None:
    """Poll (this is a bench, not the product) until every circuit's incident is notified."""

    def done() -> bool:
        return (
            sum(
                1
                for c in daemon.sup.tracker.circuit_ids
                if (i := daemon.sup.tracker.open_incident(c)) and i.notified
            )
            >= circuits
        )

    for _ in range(60 * 20):
        if done():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("not every notice was accepted within 60 s")


async def run(circuits: int, tmp: Path, port: int) -> None:
    settings = config.parse(
        {
            "probe_interval_s": 0.5,
            "probe_timeout_s": 0.5,
            "journal": str(tmp / "j.db"),
            "notify": {
                "from": "slawatch@noc.example",
                "reminder_every_min": None,
                "smtp": [{"host": "127.0.0.1", "port": port, "tls": "none"}],
            },
            "circuits": [
                {
                    "id": f"c{c:04d}",
                    "monthly_fee_yen": 300000,
                    "contacts": [f"fault{c}@cust.example"],
                    "paths": [
                        {"router": r, "demarc": d, "address": f"127.0.0.{2 + 2 * i + j}"}
                        for i, r in enumerate(("active", "standby"))
                        for j, d in enumerate(("primary", "secondary"))
                    ],
                }
                for c in range(circuits)
            ],
        },
        "bench",
    )
    wall = Wall()
    prober = ScriptedProber(wall)  # type: ignore[arg-type]
    store = await AsyncStore.open(lambda: open_store(settings.journal))
    metrics = Metrics()
    daemon = Daemon(
        settings.plan(),
        store=store,
        prober=prober,
        transport=build_transport(settings, wall),
        metrics=metrics,
        wall=wall,
    )
    await daemon.start()
    await asyncio.sleep(2)  # all paths up
    t0 = time.perf_counter()
    prober.ok = False
    await _all_notified(daemon, circuits)
    elapsed = time.perf_counter() - t0
    lat = sorted(
        (i.notified - i.detected).total_seconds()
        for c in daemon.sup.tracker.circuit_ids
        if (i := daemon.sup.tracker.open_incident(c)) and i.notified
    )
    last_detect = max(
        daemon.sup.tracker.open_incident(c).detected  # type: ignore[union-attr]
        for c in daemon.sup.tracker.circuit_ids
    )
    last_notified = max(
        daemon.sup.tracker.open_incident(c).notified  # type: ignore[union-attr]
        for c in daemon.sup.tracker.circuit_ids
    )
    print(
        f"{circuits} incidents: every notice accepted {elapsed:.2f} s after the cut "
        f"(last acceptance {(last_notified - last_detect).total_seconds():.2f} s after the "
        f"last detection); detection->acceptance p50 {lat[len(lat) // 2]:.2f} s, "
        f"p99 {lat[int(len(lat) * 0.99)]:.2f} s, max {lat[-1]:.2f} s"
    )
    await daemon.stop()
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--circuits", type=int, default=1000)
    args = parser.parse_args()
    with SmtpServer() as relay, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.circuits, Path(tmp), relay.port))
        print(f"the relay received {len(relay.received)} messages")


if __name__ == "__main__":
    main()
