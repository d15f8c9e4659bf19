"""Periodic jobs on APScheduler 3 (AsyncIOScheduler): figures that are not event-driven.

- every minute: this month's credit per circuit into ``slawatch_credit_fraction``
- hourly: a snapshot of this month's SLA figures into the journal (an audit trail of what
  the daemon believed at the time)
- daily: prune snapshots older than the retention (400 days: a year's claims and then some)
- monthly (the 1st, 00:10 in the configured timezone): last month's SLA figures as JSON under
  ``<journal dir>/reports/YYYY-MM.json``
- hourly, and at start: the journal's chain head in the log, and, with ``evidence.tsa_url``,
  an RFC 3161 time-stamp of it kept in the journal (a failed stamp is logged and tried again
  the next hour)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.core.errors import MonitorError
from monitor.core.sla import month_of
from monitor.store.aio import AsyncStore
from monitor.store.base import Store

log = logging.getLogger("slawatch.jobs")

RETENTION = timedelta(days=400)


class Stamping(Protocol):
    """Where the head is time-stamped (the ``evidence:`` settings)."""

    @property
    def tsa_url(self) -> str | None: ...
    @property
    def tsa_ca_file(self) -> Path | None: ...
    @property
    def tsa_timeout_s(self) -> float: ...


class Figures(Protocol):
    """A month's SLA figures as ``GET /api/sla`` gives them."""

    async def sla(self, month: str) -> dict[str, Any]: ...


class Credits(Protocol):
    def set_credit(self, circuit: str, month: str, fraction: float) -> None: ...


class Jobs:
    """The periodic jobs; ``reports`` is where monthly figures go (a directory), ``timezone``
    the configured one (months start at local midnight)."""

    def __init__(
        self,
        figures: Figures,
        *,
        store: AsyncStore[Store],
        credits: Credits,
        wall: Callable[[], datetime],
        timezone: str,
        reports: Path,
        stamping: Stamping | None = None,
    ) -> None:
        self.figures, self.store, self.credits, self.wall = figures, store, credits, wall
        self.reports, self.stamping = reports, stamping
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(timezone))

    def start(self) -> None:
        s = self.scheduler
        s.add_job(
            self.credit_gauges,
            "interval",
            minutes=1,
            id="credit",
            next_run_time=self.wall(),
        )
        s.add_job(self.snapshot, "interval", hours=1, id="snapshot")
        s.add_job(self.prune, "cron", hour=3, minute=17, id="prune")
        s.add_job(self.monthly_report, "cron", day=1, hour=0, minute=10, id="monthly")
        s.add_job(self.witness, "interval", hours=1, id="witness",
                  next_run_time=datetime.now(s.timezone))  # fmt: skip
        s.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _month(self, *, previous: bool = False) -> str:
        """This month (or the previous one), in the configured timezone."""
        tz = self.scheduler.timezone
        first = self.wall().astimezone(tz).replace(day=1)
        return month_of(first - timedelta(days=1) if previous else first, tz)

    async def credit_gauges(self) -> dict[str, Any]:
        month = self._month()
        figures = await self.figures.sla(month)
        for row in figures["circuits"]:
            self.credits.set_credit(row["circuit"], month, float(Fraction(row["credit"])))
        return figures

    async def snapshot(self) -> None:
        figures = await self.credit_gauges()
        now = self.wall()
        month = figures["month"]
        for row in figures["circuits"]:
            await self.store.run(partial(_snapshot, now=now, month=month, row=row))

    async def prune(self) -> None:
        before = self.wall() - RETENTION
        removed = await self.store.run(lambda s: s.prune_snapshots(before))
        log.info("pruned %d old snapshots", removed)

    async def monthly_report(self) -> None:
        month = self._month(previous=True)
        figures = await self.figures.sla(month)
        out = self.reports / f"{month}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        log.info("monthly SLA figures for %s written to %s", month, out)

    async def witness(self) -> None:
        """Log the chain head; time-stamp it when an authority is configured."""
        head = await self.store.run(lambda s: s.head())
        log.info("journal chain head: %s", head.text)
        plan = self.stamping
        if plan is None or plan.tsa_url is None or head.seq == 0:
            return
        url = plan.tsa_url
        from monitor.evidence import tsa  # rfc3161_client and cryptography only when configured

        try:
            token = await asyncio.to_thread(
                tsa.stamp, url, head, timeout_s=plan.tsa_timeout_s, ca_file=plan.tsa_ca_file
            )
        except MonitorError as exc:
            log.error("time-stamp of the chain head failed (next try in an hour): %s", exc)
            return
        now = self.wall()
        kept = await self.store.run(lambda s: s.add_stamp(head, now, url, token))
        log.info("chain head %s time-stamped by %s (token %d)", head.text, url, kept.id)


def _snapshot(store: Store, *, now: datetime, month: str, row: dict[str, Any]) -> None:
    store.snapshot(now, month, row["circuit"], row)
