"""Arithmetic over spans of time: the one place that merges, clips, subtracts and measures.

A span is ``(start, end)``, half-open ``[start, end)``, of aware datetimes. Functions that
take many spans accept them in any order and overlapping; those whose name says *disjoint*
expect :func:`union`'s output (sorted, disjoint, non-empty). Durations are ``timedelta`` and
never negative. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

Span = tuple[datetime, datetime]
ZERO = timedelta(0)


class Spanning(Protocol):
    """Anything with a start and an end that is None while it is still open."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime | None: ...


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint, non-empty spans covering the same time (touching spans join)."""
    given = [s for s in spans if s[1] > s[0]]
    if len(given) < 2:  # most outages meet no window, or one: nothing to sort or merge
        return given
    merged: list[Span] = []
    for lo, hi in sorted(given):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def closed(items: Iterable[Spanning], now: datetime) -> list[Span]:
    """Spans of intervals, an open one (``end`` None) running to ``now`` (never before its
    start)."""
    return [(i.start, i.end if i.end is not None else max(now, i.start)) for i in items]


def clip(disjoint: Iterable[Span], start: datetime, stop: datetime) -> list[Span]:
    """The parts of ``disjoint`` inside ``[start, stop)``."""
    return [(max(lo, start), min(hi, stop)) for lo, hi in disjoint if lo < stop and hi > start]


def length(spans: Iterable[Span]) -> timedelta:
    """Total length of disjoint spans."""
    return sum((hi - lo for lo, hi in spans), ZERO)


def overlap(start: datetime, end: datetime, disjoint: Iterable[Span]) -> timedelta:
    """How much of ``[start, end)`` the disjoint spans cover."""
    total = ZERO
    for lo, hi in disjoint:
        total += max(min(end, hi) - max(start, lo), ZERO)
    return total


def common(a: Iterable[Span], b: list[Span]) -> timedelta:
    """How much time two lists of disjoint spans share."""
    return sum((overlap(lo, hi, b) for lo, hi in a), ZERO)


def minus(a: list[Span], b: list[Span]) -> list[Span]:
    """The parts of ``a`` outside ``b`` (both disjoint and sorted)."""
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


def containing(disjoint: Iterable[Span], at: datetime) -> Span | None:
    """The span that holds ``at``, if any."""
    return next(((lo, hi) for lo, hi in disjoint if lo <= at < hi), None)
