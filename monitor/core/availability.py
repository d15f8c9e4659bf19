"""Availability over a span of time: the **Decision** of core/report.py's docstring, in one
place, so the month report, ``/api/sla`` and the status page's daily strip agree.

Pure. Spans are ``(start, end)`` pairs of aware datetimes; overlapping inputs are merged, so a
time is counted once however many outages, windows or gaps cover it.

    availability = 1 - unavailable / service time

*service time* is the span less announced maintenance and less *unmonitored* time (gaps, when
the daemon was not running, and blind time: the monitor saw the circuit neither up nor down);
*unavailable* is the outage time inside the service time, so an outage's part in maintenance,
in a gap or in blind time counts in neither (SLA.md §6.8). None when no service time is left.

In interval arithmetic, every set clipped to the span::

    service     = span - maintenance - unmonitored
    unavailable = outages & service
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
    """What :func:`measure` found inside ``[start, stop)``: durations, with ``service`` the
    span less ``maintenance`` and ``unmonitored`` (sorted, disjoint spans of aware datetimes)
    and ``unavailable`` the outage time inside ``service``."""

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
    an end (``now``) first. ``unmonitored`` is the unseen time outside maintenance (which
    :attr:`Measured.maintenance` already holds), outages or not."""
    span = [(start, stop)] if stop > start else []
    maint_in = clip(union(maintenance), start, stop)
    unmonitored = minus(clip(union(unseen), start, stop), maint_in)
    service = minus(minus(span, maint_in), unmonitored)
    return Measured(
        unavailable=common(clip(union(outages), start, stop), service),
        maintenance=length(maint_in),
        unmonitored=tuple(unmonitored),
        service=length(service),
    )
