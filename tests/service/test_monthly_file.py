"""The monthly figures file (service/jobs.py) holds each circuit's whole month, in the
circuit's own timezone (SLA.md §6.6), over a real daemon and SQLite journal."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.service.jobs import Jobs
from tests.service.harness import Clock, Harness

START = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
OLD_RUN = datetime(2026, 10, 31, 15, 10, tzinfo=UTC)
"""When the released job wrote 2026-10.json: 11-01 00:10 in the configured Asia/Tokyo."""
OUTAGE = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)
"""A 2 h outage (1/30) in c1's October in UTC, after OLD_RUN."""


def jobs_of(h: Harness, reports: Path) -> Jobs:
    assert h.store is not None
    return Jobs(h.backend, store=h.store, credits=h.metrics, wall=h.clock,
                timezone="Asia/Tokyo", reports=reports)  # fmt: skip


def go_to(h: Harness, at: datetime) -> None:
    h.travel(at - h.clock())


async def two_hour_outage(h: Harness) -> None:
    """Every path down from OUTAGE, the contact notified at once, back up 2 h later."""
    assert h.daemon is not None
    sup = h.daemon.sup
    go_to(h, OUTAGE)
    h.prober.ok = False
    await h.until(lambda: (i := sup.tracker.open_incident("c1")) and i.notified is not None)
    h.travel(timedelta(hours=2))
    h.prober.ok = True
    await h.until(lambda: sup.tracker.open_incident("c1") is None)
    await h.daemon.writer.drained()


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def test_monthly_figures_file_holds_the_circuit_s_whole_month(tmp_path: Path) -> None:
    """SLA.md §6.6: "A credit belongs to the calendar month, in the circuit's timezone
    (default Asia/Tokyo), in which the outage **started**".

    c1 is in UTC, the configuration in Asia/Tokyo. The released daemon wrote 2026-10.json
    once, at 00:10 on the 1st in Asia/Tokyo, with 8 h 50 min of c1's October still to come,
    and never again: this outage in those hours never reached the file (from the audit of
    e5983d7). Now the file waits for c1's October to end in UTC, and is then written once."""
    h = Harness(tmp_path, clock=Clock(START), timezone="UTC")
    reports = tmp_path / "reports"
    out = reports / "2026-10.json"
    await h.start()
    try:
        assert h.daemon is not None
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        jobs = jobs_of(h, reports)
        go_to(h, OLD_RUN)
        await jobs.monthly_report()
        assert not reports.exists(), "written before c1's October (UTC) ended"
        await two_hour_outage(h)
        go_to(h, datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
        await jobs.monthly_report()
        assert not out.exists()
        go_to(h, datetime(2026, 11, 1, 0, 10, tzinfo=UTC))  # the first hourly run after it
        await jobs.monthly_report()
        written = read(out)
        first = out.read_bytes()
        h.travel(timedelta(hours=1))
        await jobs.monthly_report()  # the next hour: complete already, left alone
        again = out.read_bytes()
    finally:
        await h.stop()
    assert written["month"] == "2026-10" and written["as_of"] == "2026-11-01T00:10:00+00:00"
    [row] = written["circuits"]
    assert (row["circuit"], row["timezone"], row["credit"]) == ("c1", "UTC", "1/30")
    [incident] = written["incidents"]
    assert incident["start"] == "2026-10-31T20:00:00+00:00" and incident["month"] == "2026-10"
    assert again == first
    assert [p.name for p in reports.iterdir()] == ["2026-10.json"]  # no temporary file left


async def test_a_file_written_before_the_month_ended_is_written_again(tmp_path: Path) -> None:
    """The released daemon's file (no ``as_of``, written at OLD_RUN without the outage), or a
    file cut short, is replaced once the month is over everywhere; one that says it was made
    before a circuit's month ended likewise. The replacement is whole: the part file beside it
    is renamed over it."""
    h = Harness(tmp_path, clock=Clock(START), timezone="UTC")
    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "2026-10.json"
    await h.start()
    try:
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        jobs = jobs_of(h, reports)
        go_to(h, OLD_RUN)
        released = await h.backend.sla("2026-10")  # what the released job wrote then
        await two_hour_outage(h)
        go_to(h, datetime(2026, 11, 1, 3, 10, tzinfo=UTC))
        seen = []
        for stale in (
            json.dumps(released),
            '{"month": "2026-10", "circu',  # cut short
            json.dumps({**released, "as_of": "2026-10-31T23:59:59+00:00"}),
        ):
            out.write_text(stale, encoding="utf-8")
            await jobs.monthly_report()
            seen.append(read(out))
    finally:
        await h.stop()
    assert [r["circuits"][0]["credit"] for r in [released, *seen]] == ["0", *["1/30"] * 3]
    assert {r["as_of"] for r in seen} == {"2026-11-01T03:10:00+00:00"}


async def test_the_credit_gauge_follows_each_circuit_s_own_month(tmp_path: Path) -> None:
    """``slawatch_credit_fraction`` named "this month" by the configured timezone: c1 (UTC)
    in the hours after Asia/Tokyo's midnight got a 2026-11 gauge of 0, and its October gauge
    was never updated again, the outage's 1/30 missing (a helper found it)."""
    h = Harness(tmp_path, clock=Clock(START), timezone="UTC")
    await h.start()
    try:
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        jobs = jobs_of(h, tmp_path / "reports")
        await two_hour_outage(h)  # 2026-10-31 20:00-22:00 UTC: 2026-11-01 in Tokyo
        rows = await jobs.credit_gauges()  # the snapshot's rows: c1's own month, October
        assert [(r["circuit"], r["month"], r["credit"]) for r in rows] == [
            ("c1", "2026-10", "1/30")
        ]
        await jobs.snapshot()
        [(month, payload)] = await h.ask(
            lambda s: s.db.query("SELECT month, payload FROM snapshots WHERE circuit = 'c1'")
        )
        assert month == "2026-10" and json.loads(payload)["credit"] == "1/30"
        h.metrics.render()
        sample = h.metrics.registry.get_sample_value
        october = sample("slawatch_credit_fraction", {"circuit": "c1", "month": "2026-10"})
        assert october == 1 / 30
        assert sample("slawatch_credit_fraction", {"circuit": "c1", "month": "2026-11"}) is None
    finally:
        await h.stop()


async def test_a_reports_path_that_is_a_file_is_one_logged_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``<journal dir>/reports`` a regular file: mkdir's FileExistsError escaped the job, and
    APScheduler logged it as "Job ... raised an exception" with a traceback, every hour. Now
    one error line names the path and the fix, the job returns, and the next run writes the
    file once the path is a directory."""
    h = Harness(tmp_path, clock=Clock(START), timezone="UTC")
    reports = tmp_path / "reports"
    reports.write_text("not a directory\n")
    await h.start()
    try:
        await h.until(lambda: h.daemon is not None and h.daemon.sup.last_probe is not None)
        jobs = jobs_of(h, reports)
        go_to(h, datetime(2026, 11, 1, 0, 10, tzinfo=UTC))
        with caplog.at_level(logging.ERROR, logger="slawatch.jobs"):
            await jobs.monthly_report()
        [record] = [r for r in caplog.records if r.name == "slawatch.jobs"]
        message = record.getMessage()
        assert record.exc_info is None and "monthly SLA figures for 2026-10" in message, message
        assert f"{reports} must be a directory" in message, message
        reports.unlink()
        await jobs.monthly_report()
    finally:
        await h.stop()
    assert read(reports / "2026-10.json")["month"] == "2026-10"
