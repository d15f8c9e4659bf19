"""Facts the monitor records: the tracker's events, plus the evidence beside them.

A fact is a frozen value with its own time; every store backend writes each kind the same way
(``monitor/store``), and the supervisor decides which facts to record and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.model import PathKey
from monitor.core.tracker import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpObserved:
    """What a router said about a path at ``at`` (aware UTC): a reading that changed (``kind``
    ``ifOperStatus``/``bgpPeerState``, ``value`` the MIB's number, ``text`` its name or an
    error), or a trap (``kind`` ``trap``). Evidence only: it decides nothing by itself."""

    path: PathKey
    at: datetime
    kind: str
    value: int | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One raw probe result kept as evidence: ``target`` a path's name (``active/primary``)
    or ``control:NAME``, ``at`` when the probe was sent (seconds since the epoch, UTC),
    ``rtt`` seconds (None when it failed)."""

    target: str
    at: float
    ok: bool
    rtt: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeEvidence:
    """The raw results of one circuit's paths (and of the control targets) in ``[start,
    end]`` around an incident's opening or closing (``reason`` ``opened``/``closed``), with
    the SNMP readings and traps of that window, as captured at ``at`` (core/evidence.py)."""

    circuit: str
    incident: int
    reason: str
    start: datetime
    end: datetime
    at: datetime
    samples: tuple[Sample, ...]
    readings: tuple[SnmpObserved, ...]


Fact = Event | SnmpObserved | ProbeEvidence
