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

from monitor.core import sla

Span = tuple[datetime, datetime]
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
        return _length(self.unmonitored)

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
    """Availability figures of ``[start, stop)`` given outages, announced maintenance and
    unmonitored time (gaps, blind intervals): give open ones an end (``now``) first."""
    span = [(start, stop)] if stop > start else []
    maint_in = _clip(_union(maintenance), start, stop)
    down_in = _clip(_union(outages), start, stop)
    unseen_in = _clip(_union(unseen), start, stop)
    unmonitored = _minus(unseen_in, _union([*maint_in, *down_in]))
    maintenance_t = _length(maint_in)
    return Measured(
        unavailable=_length(down_in) - _common(down_in, maint_in),
        maintenance=maintenance_t,
        unmonitored=tuple(unmonitored),
        service=_length(span) - maintenance_t - _length(unmonitored),
    )


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _clip(spans: list[Span], start: datetime, stop: datetime) -> list[Span]:
    return [(max(lo, start), min(hi, stop)) for lo, hi in spans if lo < stop and hi > start]


def _length(spans: Iterable[Span]) -> timedelta:
    return sum((hi - lo for lo, hi in spans), _ZERO)


def _minus(a: list[Span], b: list[Span]) -> list[Span]:
    """The parts of ``a`` outside ``b`` (both sorted and disjoint)."""
    out: list[Span] = []
    for lo, hi in a:
        for blo, bhi in b:
            if bhi <= lo or blo >= hi:
                continue
            if blo > lo:
                out.append((lo, blo))
            lo = max(lo, bhi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def _common(a: list[Span], b: list[Span]) -> timedelta:
    """How much time two disjoint span lists share."""
    return sum((sla.overlap(lo, hi, b) for lo, hi in a), _ZERO)
