"""What every store backend hands back: plain frozen values, the same for SQLite and PostgreSQL.

A leaf of ``monitor/store``: it imports only the core. Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from monitor.core.model import Interval, MaintenanceWindow, PathState
from monitor.core.tracker import Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredWindow:
    """A maintenance window announced through the API or CLI: ``recorded_at`` and
    ``recorded_by`` say when and by whom it was entered (``source`` ``api`` or ``cli``)."""

    id: int
    circuit: str
    window: MaintenanceWindow
    source: str
    recorded_at: datetime
    recorded_by: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Restored:
    """What a restart needs: the latest path and control states (state, since), open and
    recent incidents, blind intervals, unmonitored gaps, each circuit's first probe result,
    the announced windows, when the daemon was last seen alive, and the journal's id."""

    paths: dict[tuple[str, str, str], tuple[PathState, datetime]] = field(default_factory=dict)
    controls: dict[str, tuple[PathState, datetime]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    blind: tuple[Interval, ...] = ()
    gaps: tuple[Interval, ...] = ()
    first_results: dict[str, datetime] = field(default_factory=dict)
    windows: tuple[StoredWindow, ...] = ()
    last_seen: datetime | None = None
    journal_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One line of an incident's timeline."""

    at: datetime
    kind: str
    text: str


class OutboxState(StrEnum):
    """``pending`` (due at ``due_at``) -> ``in_flight`` (claimed by a sender) -> ``done`` (every
    recipient accepted or refused for good), or back to ``pending`` for a retry."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A rendered notice to store: the message bytes and what it is about."""

    message_id: str
    incident_id: int | None
    circuit: str
    kind: str
    recipients: tuple[str, ...]
    body: bytes
    due_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """A stored notice with its place in the outbox (``id``), state and attempt count."""

    id: int
    notice: Notice
    state: OutboxState
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One recipient's fate in one attempt: accepted (``at``: the relay's final reply) or
    refused (``permanent``: a 5xx, not retried), with the relay's code and reply text."""

    recipient: str
    relay: str | None
    accepted: bool
    at: datetime | None
    code: int | None
    reply: str
    permanent: bool
