"""Values shared by every layer: paths, probe results, states, windows.

All datetimes are timezone-aware; the core keeps them in UTC. Durations are ``timedelta``
or float seconds where a field name ends in ``_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from monitor.core.errors import InputError

Lang = Literal["ja", "en"]
"""A language people read slawatch in: Japanese (the regulation's own, the default) or English."""
LANGS: tuple[Lang, ...] = ("ja", "en")


class Router(StrEnum):
    """The two routers at the carrier's network centre (SLA.md §1)."""

    ACTIVE = "active"
    STANDBY = "standby"


class Demarc(StrEnum):
    """The two demarcation points of an ExpressRoute circuit (SLA.md §1)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class PathState(StrEnum):
    """A path's (or control target's) state after hysteresis (SLA.md §6.1)."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


def _path_key(circuit: str, router: Router, demarc: Demarc) -> PathKey:
    return PathKey(circuit=circuit, router=router, demarc=demarc)


@dataclass(frozen=True, slots=True, kw_only=True)
class PathKey:
    """One router x demarc path of one circuit."""

    circuit: str
    router: Router
    demarc: Demarc
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed once: every probe result looks its path up three times or so (scheduler,
        # tracker, supervisor), and the generated hash re-hashed the three fields each time.
        object.__setattr__(self, "_hash", hash((self.circuit, self.router, self.demarc)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled without its hash (str hashes differ from one process to the next)."""
        return (_path_key, (self.circuit, self.router, self.demarc))

    @property
    def name(self) -> str:
        """``"router/demarc"``, the form used in events and reports."""
        return f"{self.router}/{self.demarc}"

    def __str__(self) -> str:
        return f"{self.circuit}:{self.name}"

    @classmethod
    def parse(cls, circuit: str, name: str) -> PathKey:
        """Parse ``"active/primary"``; raises InputError naming the accepted forms."""
        router, sep, demarc = name.partition("/")
        try:
            if not sep:
                raise ValueError(name)
            return cls(circuit=circuit, router=Router(router), demarc=Demarc(demarc))
        except ValueError:
            raise InputError(
                f"path {name!r}: expected ROUTER/DEMARC with ROUTER in "
                f"{[r.value for r in Router]} and DEMARC in {[d.value for d in Demarc]}"
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    """One probe's outcome. ``at`` is when the probe was sent (aware, UTC); ``rtt`` in seconds.

    ``target`` is the probe engine's key for what it probed (an address, or a path name);
    a failed or timed-out probe has ``ok=False`` and ``error`` says why.
    """

    target: str
    at: datetime
    ok: bool
    rtt: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """A half-open span of wall-clock time ``[start, end)``; ``end`` is None while open."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceWindow:
    """An announced suspension of service (SLA.md §1): excluded from counted durations, but
    only from the moment the customer was told of it, ``announced_at`` (None: at ``start``).

    A window told of after its start excludes ``[announced_at, end)``; one told of after its
    end excludes nothing."""

    start: datetime
    end: datetime
    note: str = ""
    announced_at: datetime | None = None

    @property
    def told(self) -> datetime:
        """When the customer was told: ``announced_at``, or ``start`` when not stated."""
        return self.start if self.announced_at is None else self.announced_at

    @property
    def excluded(self) -> tuple[datetime, datetime]:
        """The span this window takes out of counted time (empty when told after its end)."""
        return max(self.start, self.told), self.end


@dataclass(frozen=True, slots=True, kw_only=True)
class Announced:
    """An announced maintenance window and its record: where it was entered (``config``,
    ``api``, ``cli``), when (``recorded_at``, None for the configuration's), by whom, and its
    ``id`` in the journal (None for the configuration's: they are changed in the YAML)."""

    circuit: str
    window: MaintenanceWindow
    source: str = "config"
    recorded_at: datetime | None = None
    recorded_by: str = ""
    id: int | None = None

    @property
    def late(self) -> bool:
        """Recorded (or, for a configured window, announced) after it began: it excludes time
        retroactively, which an auditor must be able to see (docs/contract.md)."""
        recorded = self.window.told if self.recorded_at is None else self.recorded_at
        return recorded > self.window.start


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal:
    """An operator's exclusion of an incident (Article 8 §2) withdrawn: the incident earns
    its credits again. ``excluded`` and ``excluded_at`` are the exclusion as it stood (its
    reason, when it was recorded); ``reason`` and ``at`` the withdrawal's. Kept beside the
    incident, so a report shows what was excluded and undone; ``id`` is its journal row
    (None from an events file)."""

    incident: int
    circuit: str
    excluded: str
    excluded_at: datetime | None
    reason: str
    at: datetime
    id: int | None = None


def require_aware(at: datetime, what: str) -> datetime:
    """Return ``at`` unchanged if it carries a timezone; raise InputError otherwise."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{what}: naive datetime {at.isoformat()}; give an offset, e.g. +09:00")
    return at
