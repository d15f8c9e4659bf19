"""The tracker's facts: incidents and the events that change them (tracker.py makes them).

Every event is a frozen value with its own times (aware UTC); the shell journals them before
acting, the supervisor decides what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.model import Interval, PathKey
from monitor.core.paths import Change

REMOVED = "removed from monitoring"
"""An incident's ``closed_reason`` when its circuit left the configuration (a reload, a start,
or a report of a retired circuit whose incident the journal still holds open)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One outage of one circuit. Times aware UTC; ``end`` None while open."""

    id: int
    circuit: str
    start: datetime
    detected: datetime
    end: datetime | None = None
    notified: datetime | None = None
    excluded: str | None = None
    closed_reason: str | None = None
    """Why it was closed other than by a path's recovery, e.g. "removed from monitoring"."""
    single_vantage: bool = False
    """Decided by one NOC host alone: with two, the other was not live (core/vantage.py)."""

    @property
    def voided(self) -> bool:
        """Closed with no duration: a path's recovery began before the outage's start
        (§6.2). It earns nothing and owes no notice."""
        return self.end is not None and self.end <= self.start


@dataclass(frozen=True, slots=True, kw_only=True)
class PathChanged:
    path: PathKey
    change: Change


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlChanged:
    target: str
    change: Change


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringStarted:
    """The circuit's first probe result ever (§6.8: its service time starts here)."""

    circuit: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOpened:
    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentClosed:
    incident: Incident
    amended: bool = False
    """Two NOC hosts: an incident already closed ends earlier than recorded, because a peer's
    view of the end (its first path back) arrived after this node closed it on its own."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentNotified:
    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class VantageDisagreed:
    """This node sees every path of ``circuit`` down, a live peer does not (or the other way
    round): no incident, the NOC is told. ``views`` are (node, ((path, state), ...))."""

    circuit: str
    at: datetime
    views: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutageWaiting:
    """An outage confirmed while control targets were in doubt, as it stands (doubt.py):
    recorded when it begins to wait, when a path comes back meanwhile (``end``) and when it
    is decided (``seen``: True, opened as an incident; False, not: the monitor was blind at
    its detection), so a restart resumes the wait. ``doubt``: each target in doubt at
    ``detected``, with the start of its failing run then. Times aware UTC."""

    circuit: str
    start: datetime
    detected: datetime
    single: bool
    doubt: tuple[tuple[str, datetime], ...]
    end: datetime | None = None
    seen: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlindStarted:
    since: datetime
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class BlindEnded:
    interval: Interval
    at: datetime


Event = (
    MonitoringStarted
    | PathChanged
    | ControlChanged
    | IncidentOpened
    | IncidentClosed
    | IncidentNotified
    | BlindStarted
    | BlindEnded
    | VantageDisagreed
    | OutageWaiting
)

NO_EVENTS: tuple[Event, ...] = ()
