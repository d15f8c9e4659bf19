"""Periodic jobs on APScheduler 3 (AsyncIOScheduler): figures that are not event-driven.

- every minute: each circuit's credit for its own current month (in its own timezone) into
  ``slawatch_credit_fraction``
- hourly: a snapshot of each circuit's figures for its own current month (in its own
  timezone) into the journal (an audit trail of what the daemon believed at the time)
- daily: prune snapshots older than the retention (400 days: a year's claims and then some)
- hourly (minute 10), and at start: last month's figures under
  ``<journal dir>/reports/YYYY-MM.json`` (``slawatch report --format json``'s object), once
  that month has ended in every circuit's own timezone (SLA.md §6.6: a month is the
  circuit's calendar month). "Last month" is the configured timezone's; a file is written
  once, when every circuit's month is over, and written again only if it does not show that
  (missing, unreadable, or its ``as_of`` before some circuit's month end: an older version
  wrote it at 00:10 in the configured timezone). Writes are atomic (a temporary file, then a
  rename), so a reader never sees half a file and a rerun changes nothing; one that fails
  (``reports`` a file, no permission) is one error line naming the path, tried again hourly.
- hourly, and at start: the journal's chain head in the log, and, with ``evidence.tsa_url``,
  an RFC 3161 time-stamp of it kept in the journal (a failed stamp is logged and tried again
  the next hour)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.core.errors import MonitorError
from monitor.core.report import MonthReport, month_span
from monitor.core.sla import month_of
from monitor.core.views import month_view
from monitor.report import render
from monitor.store.aio import AsyncStore
from monitor.store.base import Store

log = logging.getLogger("slawatch.jobs")

RETENTION = timedelta(days=400)
_NEVER = datetime.min.replace(tzinfo=UTC)


class Stamping(Protocol):
    """Where the head is time-stamped (the ``evidence:`` settings)."""

    @property
    def tsa_url(self) -> str | None: ...
    @property
    def tsa_ca_file(self) -> Path | None: ...
    @property
    def tsa_timeout_s(self) -> float: ...


class Figures(Protocol):
    """A month's SLA figures: as ``GET /api/sla`` gives them, and as the month report."""

    async def month(self, month: str) -> MonthReport: ...


class Credits(Protocol):
    def set_credit(self, circuit: str, month: str, fraction: float) -> None: ...


class Jobs:
    """The periodic jobs; ``reports`` is where monthly figures go (a directory), ``timezone``
    the configured one: its local time runs the cron jobs and names "this month" and "last
    month" (each circuit's month is still its own, in its own timezone)."""

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
        s.add_job(self.monthly_report, "cron", minute=10, id="monthly",
                  next_run_time=datetime.now(s.timezone))  # fmt: skip
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

    async def credit_gauges(self) -> list[dict[str, Any]]:
        """Each circuit's credit for its own current month, in its own timezone (§6.6), into
        the gauge; returns those months' rows (the snapshot's), a circuit each. Near a
        month's end a circuit in another timezone is already, or still, in the next or the
        previous month: that month's report is made too (only then)."""
        month = self._month()
        report = await self.figures.month(month)
        now = report.now
        own = {c.circuit: c for c in report.circuits if c.start <= now < c.end}
        for other in sorted({month_of(now, c.tz) for c in report.circuits} - {month}):
            more = await self.figures.month(other)
            own |= {c.circuit: c for c in more.circuits if c.start <= now < c.end}
        for c in own.values():
            self.credits.set_credit(c.circuit, c.month, float(c.total.credit))
        return [month_view(c.total) for c in own.values()]

    async def snapshot(self) -> None:
        rows = await self.credit_gauges()
        now = self.wall()
        for row in rows:
            await self.store.run(partial(_snapshot, now=now, month=row["month"], row=row))

    async def prune(self) -> None:
        before = self.wall() - RETENTION
        removed = await self.store.run(lambda s: s.prune_snapshots(before))
        log.info("pruned %d old snapshots", removed)

    async def monthly_report(self) -> None:
        """Write last month's file if every circuit's month is over and the file does not
        already hold figures from after that (module docstring); otherwise do nothing."""
        month = self._month(previous=True)
        report = await self.figures.month(month)
        ends = [month_span(month, self.scheduler.timezone)[1], *(c.end for c in report.circuits)]
        over = max(ends)  # the month's end in the last timezone to reach it
        if report.now < over:
            log.debug("%s not over in every circuit's timezone until %s", month, over)
            return
        out = self.reports / f"{month}.json"
        if _as_of(out) >= over:
            return
        try:
            await asyncio.to_thread(_write_atomically, out, render([report], "json"))
        except OSError as exc:  # one line, not APScheduler's traceback every hour
            log.error(
                "monthly SLA figures for %s not written to %s: %s; %s must be a directory the "
                "daemon can write (move what is there away, or fix its owner and mode); "
                "tried again at the next hour's minute 10",
                month, out, exc.strerror or exc, self.reports,
            )  # fmt: skip
            return
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


def _as_of(path: Path) -> datetime:
    """The aware ``as_of`` of a month file: when its figures were made; the earliest time
    there is for a missing or unreadable file, or one without it (an older version's)."""
    try:
        text = json.loads(path.read_text(encoding="utf-8"))["as_of"]
        at = datetime.fromisoformat(text)
    except (OSError, ValueError, KeyError, TypeError):
        return _NEVER
    return at if at.tzinfo is not None else _NEVER


def _write_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` (UTF-8), or, after a crash, what it held before: never part of
    it. The temporary file beside it is overwritten by the next try."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    with part.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
