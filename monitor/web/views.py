"""The plain values the pages are drawn from (the service fills them; templates show them).

Times are aware UTC; the templates show them in the circuit's timezone (``timezone``, an IANA
name). Durations are seconds, RTTs milliseconds. Figures of the SLA itself come as the core's
own values (:class:`~monitor.core.assess.Assessment`,
:class:`~monitor.core.report.MonthReport`), so a page cannot round them differently from the
report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from monitor.core.assess import Assessment
from monitor.core.health import Health
from monitor.core.report import CircuitMonth


@dataclass(frozen=True, slots=True, kw_only=True)
class PathStatus:
    router: str
    demarc: str
    state: str  # up | down | unknown
    since: datetime | None
    rtt_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident:
    """``deadline``: the notification deadline while no notice is accepted (None once
    notified, or when none is owed); ``notified``: when the first was accepted."""

    id: int
    start: datetime
    detected: datetime
    deadline: datetime | None
    notified: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpcomingWindow:
    """A maintenance window not yet over: ``announced_at`` is when the customer was told;
    ``late``: recorded after it began (it excludes time retroactively)."""

    start: datetime
    end: datetime
    note: str
    announced_at: datetime
    late: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitStatus:
    """A circuit as ``GET /api/status`` shows it."""

    id: str
    timezone: str
    available: bool
    paths: tuple[PathStatus, ...]
    incident: OpenIncident | None
    days: tuple[tuple[date, float | None], ...]  # availability per local day, None: no data
    maintenance: tuple[UpcomingWindow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusView:
    generated_at: datetime
    blind: bool
    circuits: tuple[CircuitStatus, ...]


# -- the overview ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class OverviewRow:
    """One circuit's line: its health, its paths as dots, the best RTT of an up path now."""

    id: str
    timezone: str
    health: Health
    paths: tuple[PathStatus, ...]
    rtt_ms: float | None
    incident: OpenIncident | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    """Every circuit, most urgent first (unavailable by nearest deadline, then degraded,
    unknown, available; by id within each)."""

    generated_at: datetime
    blind: bool
    rows: tuple[OverviewRow, ...]


# -- a circuit -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RttPoint:
    """One point of a path's RTT history: the bucket starting ``at``; RTTs of the answered
    probes in it (None when none was answered), and how many were answered and lost."""

    at: datetime
    min_ms: float | None
    avg_ms: float | None
    max_ms: float | None
    answered: int
    lost: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """The router's latest SNMP reading for a path (``kind`` ifOperStatus, bgpPeerState):
    ``ok`` up, down, or None when the agent did not answer (``text`` says why)."""

    kind: str
    ok: bool | None
    text: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PathDetail:
    status: PathStatus
    address: str
    probe: str  # icmp | snmp
    evidence: tuple[Evidence, ...]
    history: tuple[RttPoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A maintenance window in force: ``id`` None for the configuration's (changed in the
    YAML), ``late`` when recorded after it began."""

    id: int | None
    circuit: str
    start: datetime
    end: datetime
    note: str
    source: str
    announced_at: datetime
    recorded_at: datetime | None
    recorded_by: str
    late: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitPage:
    """A circuit now and this month: ``month`` is the report's figures for it."""

    id: str
    timezone: str
    now: datetime
    health: Health
    paths: tuple[PathDetail, ...]
    incident: OpenIncident | None
    month: CircuitMonth
    days: tuple[tuple[date, float | None], ...]
    windows: tuple[Window, ...]


# -- an incident -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineItem:
    at: datetime
    kind: str  # path | snmp | gap | notice | delivery | exclusion
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentPage:
    """An incident's figures as of ``now``, its timeline and the windows that touch it."""

    assessment: Assessment
    timezone: str
    fee_yen: int
    now: datetime
    timeline: tuple[TimelineItem, ...]
    windows: tuple[Window, ...]
    node_views: tuple[tuple[str, tuple[tuple[datetime, datetime | None], ...]], ...] = ()
    """Two NOC hosts: each one's own view (when it saw every path down; None: still does),
    of which the incident is the intersection."""

    @property
    def circuit(self) -> str:
        return self.assessment.incident.circuit


@dataclass(frozen=True, slots=True, kw_only=True)
class Download:
    """A month's report file, as ``slawatch report`` writes it."""

    body: bytes
    content_type: str
    filename: str
