"""Builders for core tests: explicit aware datetimes, time stepped by hand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.core.assess import CircuitTerms
from monitor.core.model import Demarc, MaintenanceWindow, PathKey, Router
from monitor.core.tracker import CircuitSpec, Event, Tracker

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)  # 2026-10-07 10:00 JST
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
CID = "er-tokyo-1"
PATHS = tuple(PathKey(circuit=CID, router=r, demarc=d) for r in Router for d in Demarc)
AP, AS, SP, SS = PATHS


def tracker(fail_after: int = 3, recover_after: int = 2, controls: Iterable[str] = ()) -> Tracker:
    return Tracker(
        [CircuitSpec(id=CID, paths=PATHS, fail_after=fail_after, recover_after=recover_after)],
        controls=list(controls),
        fail_after=fail_after,
        recover_after=recover_after,
    )


def terms(*windows: MaintenanceWindow, fee: int = 300_000) -> CircuitTerms:
    return CircuitTerms(circuit=CID, fee_yen=fee, tz=TOKYO, maintenance=windows)


def feed(
    t: Tracker, at: datetime, ok: dict[PathKey, bool] | bool, paths: Iterable[PathKey] = PATHS
) -> list[Event]:
    """One probe result per path at ``at`` (all the same ``ok`` unless a dict is given)."""
    events: list[Event] = []
    for p in paths:
        events.extend(t.observe(p, at, ok[p] if isinstance(ok, dict) else ok))
    return events


def run(
    t: Tracker,
    start: datetime,
    ticks: int,
    ok: bool,
    step: timedelta = MIN,
    paths: Iterable[PathKey] = PATHS,
) -> list[Event]:
    """``ticks`` rounds of results ``step`` apart from ``start``."""
    events: list[Event] = []
    for i in range(ticks):
        events.extend(feed(t, start + i * step, ok, list(paths)))
    return events
