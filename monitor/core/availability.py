"""Availability over a span of time: the **Decision** of core/report.py's docstring, in one
place, so the month report, ``/api/sla`` and the status page's daily strip agree.

Pure. Spans are ``(start, end)`` pairs of aware datetimes; overlapping inputs are merged, so a
time is counted once however many outages, windows or gaps cover it.

    availability = 1 - unavailable / service time

*unavailable* is outage time less announced maintenance; *service time* is the span less
maintenance and less *unmonitored* time (gaps and blind time outside outages and maintenance,
which the monitor saw neither up nor down). None when no service time is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from monitor.core.intervals import Span, clip, common, length, minus, union

_ZERO = timedelta(0)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """What :func:`measure` found inside ``[start, stop)``; ``unmonitored`` sorted, disjoint."""

    unavailable: timedelta
    maintenance: timedelta
    unmonitored: tuple[Span, ...]
    service: timedelta

    @property
    def unmonitored_time(self) -> timedelta:
        return length(self.unmonitored)

    @property
    def availability(self) -> Fraction | None:
        """1 - unavailable / service, exact (to the microsecond); None without service time."""
        if self.service <= _ZERO:
            return None
        return 1 - Fraction(self.unavailable // _US, self.service // _US)


def measure(
    start: datetime,
    stop: datetime,
    *,
    outages: Iterable[Span],
    maintenance: Iterable[Span],
    unseen: Iterable[Span],
) -> Measured:
    """Availability figures of ``[start, stop)`` given outages, announced maintenance (the
    time each window excludes) and unmonitored time (gaps, blind intervals): give open ones
    an end (``now``) first."""
    span = [(start, stop)] if stop > start else []
    maint_in = clip(union(maintenance), start, stop)
    down_in = clip(union(outages), start, stop)
    unseen_in = clip(union(unseen), start, stop)
    unmonitored = minus(unseen_in, union([*maint_in, *down_in]))
    maintenance_t = length(maint_in)
    return Measured(
        unavailable=length(down_in) - common(down_in, maint_in),
        maintenance=maintenance_t,
        unmonitored=tuple(unmonitored),
        service=length(span) - maintenance_t - length(unmonitored),
    )
