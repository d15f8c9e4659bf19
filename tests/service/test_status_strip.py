"""The status page's 30-day strip: days before monitoring began are "no data", not 100 %."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.service.harness import Harness


async def test_strip_starts_where_monitoring_began(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    try:
        h.travel(timedelta(days=2, hours=1))  # two days and an hour of monitoring, all up
        await h.until(lambda: h.daemon is not None and h.daemon.live.last_probe is not None)
        h.prober.ok = False
        await h.until(lambda: h.backend.d.tracker.open_incident("c1") is not None)
        h.travel(timedelta(hours=6))  # today (Tokyo) is now a quarter down
        view = await h.backend.status()
    finally:
        await h.stop()
    days = view.circuits[0].days
    assert len(days) == 30
    known = [(d, f) for d, f in days if f is not None]
    assert [f for _, f in days[:-3]] == [None] * 27, days  # before the first start
    assert len(known) == 3 and known[0][1] == 1.0 and known[1][1] == 1.0, known
    today = known[2][1]
    assert today is not None and 0.0 < today < 1.0, known


async def test_strip_leaves_announced_maintenance_out_as_the_report_does(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    try:
        h.travel(timedelta(hours=1))
        await h.until(lambda: h.daemon is not None and h.daemon.live.last_probe is not None)
        h.prober.ok = False
        incident = await h.until(lambda: h.backend.d.tracker.open_incident("c1"))
        h.travel(timedelta(hours=2))
        end = h.clock() + timedelta(hours=1)
        await h.backend.add_maintenance("c1", incident.start, end, "announced works")
        view = await h.backend.status()
    finally:
        await h.stop()
    today = view.circuits[0].days[-1][1]
    assert today == 1.0  # the whole outage is inside the announced window
