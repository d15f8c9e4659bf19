"""What the supervisor asks the shell to do, in the order it must be done.

The shell carries effects out in order, and journals first: a :class:`Record` is durable
before any effect after it acts on what it records. A :class:`Send` is a notice that is owed;
a :class:`Metric` and a :class:`Log` change nothing the customer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from monitor.core.facts import Fact
from monitor.core.notices import NoticeFacts


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Write these facts to the journal, in one transaction, before anything after them."""

    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Deliver a notice to ``recipients`` (one message per language among them)."""

    notice: NoticeFacts
    recipients: tuple[str, ...]


class MetricName(StrEnum):
    """The metrics that follow decisions (probe counts and timings are the shell's own)."""

    PATH_UP = "path_up"  # labels circuit, router, demarc; value 1/0, None: remove
    CIRCUIT_AVAILABLE = "circuit_available"  # circuit; 1/0
    INCIDENTS = "incidents"  # circuit; add 1
    OUTAGE_SECONDS = "outage_seconds"  # circuit; add the closed outage's seconds
    BREACHES = "breaches"  # circuit; add 1
    NOTIFICATION_LATENCY = "notification_latency"  # observe seconds
    BLIND = "blind"  # 1/0
    DROPPED = "dropped"  # reason; add 1
    DISAGREEMENTS = "disagreements"  # circuit; add 1
    FORGET = "forget"  # circuit: drop every series of a circuit no longer monitored
    UNMONITORED = "unmonitored"  # add the seconds of a gap found while running (a stall)
    STALLS = "stalls"  # add 1: the event loop stalled (recorded as a gap)


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """Set, add to or observe one series (see :class:`MetricName` for labels and values)."""

    name: MetricName
    labels: tuple[str, ...] = ()
    value: float | None = 1.0


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A line for the operator's log."""

    level: Level
    text: str


Effect = Record | Send | Metric | Log
