"""A region gone dark (1,000 circuits, an open incident each): the status view (``/api/status``,
the web UI's overview) was worked out on the event loop in one piece, 0.7 s on a quiet
machine and 1-10 s on a loaded one, longer than the daemon's own stall threshold: the probes
stopped meanwhile and the watchdog recorded an unmonitored gap on every open incident (a
mass-outage attack found it). It now returns to the loop every few circuits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from monitor import config
from tests.service.harness import Harness, many_circuits

N = 1000


def region(tmp: Path) -> config.Settings:
    ids = [f"c{c:04d}" for c in range(N)]
    return many_circuits(tmp, ids, lambda c, i: f"127.{c // 200}.{c % 200}.{i + 1}",
                         probe_interval_s=1, probe_timeout_s=1)  # fmt: skip


async def blocks(work: asyncio.Future[object]) -> tuple[float, float]:
    """(the longest the loop went without running a ticker, the whole time) while ``work``
    ran, in seconds: compared with each other, not with a bound, since this machine's load
    stretches both."""
    longest, started = 0.0, time.perf_counter()
    while not work.done():
        t = time.perf_counter()
        await asyncio.sleep(0)
        longest = max(longest, time.perf_counter() - t)
    return longest, time.perf_counter() - started


async def test_the_status_of_a_region_gone_dark_does_not_hold_the_loop(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.settings = region(tmp_path)
    d = await h.start()
    try:
        h.prober.ok = False
        await h.until(lambda: all(d.sup.tracker.open_incident(f"c{c:04d}") for c in range(N)),
                      timeout=120)  # fmt: skip
        await asyncio.wait_for(d.writer.drained(), 120)
        view = asyncio.ensure_future(h.backend.status())
        longest, whole = await blocks(view)
        assert len(view.result().circuits) == N
        assert all(c.incident is not None for c in view.result().circuits)
        # in one piece, the work held the loop for most of its time (0.7 s of ~0.75 s on a
        # quiet machine); in slices of STATUS_SLICE circuits, a slice is a fortieth of it
        assert longest < whole / 3, f"the loop was held {longest:.2f} s of {whole:.2f} s"
    finally:
        await h.stop()
