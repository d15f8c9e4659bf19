"""Periodic jobs on APScheduler 3 (AsyncIOScheduler): figures that are not event-driven.

- every minute: this month's credit per circuit into ``slawatch_credit_fraction``
- hourly: a snapshot of this month's SLA figures into the journal (an audit trail of what
  the daemon believed at the time)
- daily: prune snapshots older than the retention (400 days: a year's claims and then some)
- monthly (the 1st, 00:10 in the configured timezone): last month's SLA figures as JSON under
  ``<journal dir>/reports/YYYY-MM.json``
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from monitor.service.backend import DaemonBackend

log = logging.getLogger("slawatch.jobs")

RETENTION = timedelta(days=400)


class Jobs:
    def __init__(self, backend: DaemonBackend, metrics: Any) -> None:
        self.backend = backend
        self.metrics = metrics
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(backend.d.settings.timezone))

    def start(self) -> None:
        s = self.scheduler
        s.add_job(
            self.credit_gauges,
            "interval",
            minutes=1,
            id="credit",
            next_run_time=datetime.now(s.timezone),
        )
        s.add_job(self.snapshot, "interval", hours=1, id="snapshot")
        s.add_job(self.prune, "cron", hour=3, minute=17, id="prune")
        s.add_job(self.monthly_report, "cron", day=1, hour=0, minute=10, id="monthly")
        s.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _month(self, back: int = 0) -> str:
        local = self.backend.d.wall().astimezone(self.scheduler.timezone)
        first = local.replace(day=1)
        for _ in range(back):
            first = (first - timedelta(days=1)).replace(day=1)
        return first.strftime("%Y-%m")

    async def credit_gauges(self) -> dict[str, Any]:
        month = self._month()
        figures = await self.backend.sla(month)
        for row in figures["circuits"]:
            self.metrics.set_credit(row["circuit"], month, float(Fraction(row["credit"])))
        return figures

    async def snapshot(self) -> None:
        figures = await self.credit_gauges()
        now = self.backend.d.wall()
        for row in figures["circuits"]:
            await self.backend.d.journal.snapshot(now, figures["month"], row["circuit"], row)

    async def prune(self) -> None:
        removed = await self.backend.d.journal.prune_snapshots(self.backend.d.wall() - RETENTION)
        log.info("pruned %d old snapshots", removed)

    async def monthly_report(self) -> None:
        month = self._month(back=1)
        figures = await self.backend.sla(month)
        out = self.backend.d.journal.path.parent / "reports" / f"{month}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        log.info("monthly SLA figures for %s written to %s", month, out)
