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


Fact = Event | SnmpObserved
