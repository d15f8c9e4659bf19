"""The status page's 30-day strip: days before the circuit's first probe result are "no data",
not 100 % (SLA.md §6.8)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.service.harness import Harness


async def test_strip_starts_where_monitoring_began(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    try:
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        h.travel(timedelta(days=2, hours=1))  # two days and an hour of monitoring, all up
        h.prober.ok = False
        await h.until(lambda: h.daemon.sup.tracker.open_incident("c1") is not None)
        h.travel(timedelta(hours=6))  # today (Tokyo) is now a quarter down
        await h.daemon.writer.drained()  # the incident in the journal too: the strip reads it
        view = await h.backend.status()
    finally:
        await h.stop()
    days = view.circuits[0].days
    assert len(days) == 30
    known = [(d, f) for d, f in days if f is not None]
    assert [f for _, f in days[:-3]] == [None] * 27, days  # before the first probe result
    assert len(known) == 3 and known[0][1] == 1.0 and known[1][1] == 1.0, known
    today = known[2][1]
    assert today is not None and 0.0 < today < 1.0, known


async def test_strip_leaves_announced_maintenance_out_as_the_report_does(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    try:
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        h.travel(timedelta(hours=1))  # an hour up before the outage
        h.prober.ok = False
        incident = await h.until(lambda: h.daemon.sup.tracker.open_incident("c1"))
        h.travel(timedelta(hours=2))
        await h.daemon.writer.drained()  # the incident in the journal too: the strip reads it
        end = h.clock() + timedelta(hours=1)
        # recorded now, with no earlier announcement: it excludes only from now on (§1)
        told_now = await h.backend.add_maintenance("c1", incident.start, end, "works")
        still_down = (await h.backend.status()).circuits[0].days[-1][1]
        await h.backend.remove_maintenance(told_now["id"])
        await h.backend.add_maintenance(
            "c1", incident.start, end, "announced works", announced_at=incident.start
        )
        view = await h.backend.status()
    finally:
        await h.stop()
    assert told_now["recorded_late"] is True
    assert still_down is not None and still_down < 1.0
    today = view.circuits[0].days[-1][1]
    assert today == 1.0  # the whole outage is inside the window, announced when it began
