"""Sane values: the times and ids slawatch accepts from outside, and how it reads older
values.

An SLA record spans years, not millennia. A time from an operator (API, CLI, YAML) must lie
in ``[EARLIEST, LATEST)``, and an announced maintenance window may last at most
``MAX_WINDOW``. Within these bounds every time can be shown in every timezone and moved by
any deadline (30 minutes, three claim months) without leaving ``datetime``'s range, which
0001-01-01 or 9999-12-31 cannot: they made pages answer 500 for ever (issue 10).

A window stored before these bounds existed is read through :func:`clamp_window`, so a view
over the journal is total whatever an older version wrote.

An id (incident, maintenance window) is 1 to 18 ASCII digits: ``int()`` also reads '٣' as 3
and '²' not at all, and SQLite's integers end below 2**63.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.core.errors import InputError
from monitor.core.model import MaintenanceWindow

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_WINDOW = timedelta(days=366)
"""A year, leap day included: longer is a typo (a wrong year), not a maintenance."""
ID = re.compile(r"[0-9]{1,18}")


class BoundsError(InputError):
    """A time or window outside the sane bounds; ``field`` names the end to fix."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)


def _utc(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d}"


def in_bounds(at: datetime) -> bool:
    """True when the aware ``at`` lies in ``[EARLIEST, LATEST)``."""
    return EARLIEST <= at < LATEST


def check_time(at: datetime, field: str) -> datetime:
    """``at`` unchanged if in bounds; BoundsError naming ``field`` otherwise."""
    if not in_bounds(at):
        raise BoundsError(
            f"{field} {at.isoformat()} is outside {_utc(EARLIEST)}..{_utc(LATEST)} (UTC); "
            "check the year",
            field,
        )
    return at


def check_window(start: datetime, end: datetime) -> None:
    """A maintenance window an operator may announce: both ends in bounds, ``end`` after
    ``start``, at most MAX_WINDOW long. BoundsError naming the end to fix otherwise."""
    check_time(start, "start")
    check_time(end, "end")
    if end <= start:
        raise BoundsError(
            f"end {end.isoformat()} is not after start {start.isoformat()}; swap them or fix "
            "the date",
            "end",
        )
    if end - start > MAX_WINDOW:
        raise BoundsError(
            f"end {end.isoformat()} is {(end - start).days} days after start: a window may "
            f"last at most {MAX_WINDOW.days} days; check the year, or announce several windows",
            "end",
        )


def clamp_window(window: MaintenanceWindow) -> MaintenanceWindow:
    """The part of a stored window within the bounds (the window itself when it lies within,
    as every window announced since the bounds exist does)."""
    start = min(max(window.start, EARLIEST), LATEST)
    end = min(max(window.end, start), LATEST)
    told = window.announced_at
    if told is not None:
        told = min(max(told, EARLIEST), LATEST)
    if (start, end, told) == (window.start, window.end, window.announced_at):
        return window
    return replace(window, start=start, end=end, announced_at=told)


def check_year(year: int) -> int:
    """A month's year for a report or ``/api/sla``: in bounds, or InputError."""
    if not EARLIEST.year <= year < LATEST.year:
        raise InputError(
            f"year {year} is outside {EARLIEST.year}..{LATEST.year - 1}; check the month"
        )
    return year


def parse_id(text: str, what: str) -> int:
    """An id from ``text`` (1 to 18 ASCII digits); InputError naming ``what`` otherwise."""
    if not ID.fullmatch(text):
        raise InputError(f"{what} {text!r} is not a number (1 to 18 digits 0-9)")
    return int(text)
