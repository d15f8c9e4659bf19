"""The overview page with 1,000 circuits (issue 15: under 300 ms of server time).

A real daemon (journal, supervisor; scripted prober and clock from tests/service/harness.py)
with 1,000 circuits of 4 paths, 100 of them cut (open incidents with their countdowns) and
50 with one path down (degraded), behind the real application; ``GET /`` as the operator,
timed by the server (its ``Server-Timing`` header: handler, backend and template) and by the
client (the whole HTTP exchange on loopback). Run: ``.venv/bin/python bench/web_bench.py``.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aiohttp.test_utils import TestClient, TestServer

from monitor import config
from monitor.web import make_app
from tests.service.harness import Harness
from tests.web.site import TOKEN, Prober, sign_in

CIRCUITS, CUT, DEGRADED, RUNS = 1000, 100, 50, 30
PAIRS = [(r, d) for r in ("active", "standby") for d in ("primary", "secondary")]


def address(n: int, p: int) -> str:
    return f"10.{n // 250}.{n % 250}.{p + 1}"


def settings(tmp: Path) -> config.Settings:
    return config.parse(
        {
            "probe_interval_s": 1.0,
            "probe_timeout_s": 1.0,
            "journal": str(tmp / "journal.db"),
            "notify": {"maildir": str(tmp / "maildir")},
            "circuits": [
                {
                    "id": f"er-{n:04d}",
                    "monthly_fee_yen": 300000,
                    "contacts": ["fault@cust.example"],
                    "paths": [
                        {"router": r, "demarc": d, "address": address(n, p)}
                        for p, (r, d) in enumerate(PAIRS)
                    ],
                }
                for n in range(CIRCUITS)
            ],
        },
        "bench",
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp))
        h.settings = settings(Path(tmp))
        prober = h.prober = Prober(h.clock)  # type: ignore[assignment]
        d = await h.start()
        prober.down = {address(n, p) for n in range(0, CIRCUITS, CIRCUITS // CUT) for p in range(4)}
        prober.down |= {address(n, 0) for n in range(5, CIRCUITS, CIRCUITS // DEGRADED)}
        await h.until(lambda: len(d.sup.pending()) == CUT, timeout=60)
        app = make_app(h.backend, None, token=TOKEN, wall=h.clock)
        async with TestClient(TestServer(app)) as c:
            await sign_in(c, TOKEN)
            for query in ("/", "/?state=unavailable", "/?q=er-09"):
                server, client, size = [], [], 0
                for _ in range(RUNS):
                    started = time.perf_counter()
                    r = await c.get(query)
                    body = await r.read()
                    client.append((time.perf_counter() - started) * 1000)
                    timing = re.search(r"dur=([0-9.]+)", r.headers["Server-Timing"])
                    assert timing and r.status == 200
                    server.append(float(timing.group(1)))
                    size = len(body)
                rows = body.count(b'<tr class="')
                print(
                    f"{query:22} rows {rows:5}  server median {statistics.median(server):6.1f} ms"
                    f"  p95 {sorted(server)[int(RUNS * 0.95) - 1]:6.1f} ms"
                    f"  client median {statistics.median(client):6.1f} ms  {size / 1024:.0f} KiB"
                )
        await h.stop()


if __name__ == "__main__":
    asyncio.run(main())
