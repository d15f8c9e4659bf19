"""What the incident tracker keeps of each circuit (tracker.py): its paths' hysteresis
machines, its open incident and its recent closed ones. Sans-IO like the rest of the core."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from monitor.core.events import Incident
from monitor.core.model import PathKey, PathState
from monitor.core.paths import Hysteresis

RECENT_PER_CIRCUIT = 32
"""Closed incidents kept per circuit so a late notice can still be attached to one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitSpec:
    """What the tracker needs of a circuit: its id, its paths and its hysteresis."""

    id: str
    paths: tuple[PathKey, ...]
    fail_after: int = 3
    recover_after: int = 2


class Circuit:
    """One tracked circuit: its paths' machines, its open and recent incidents."""

    __slots__ = ("first_seen", "id", "open", "paths", "recent")

    def __init__(self, spec: CircuitSpec) -> None:
        self.id = spec.id
        self.paths = {
            p: Hysteresis(fail_after=spec.fail_after, recover_after=spec.recover_after)
            for p in spec.paths
        }
        self.open: Incident | None = None
        self.recent: deque[Incident] = deque(maxlen=RECENT_PER_CIRCUIT)
        self.first_seen: datetime | None = None

    def all_down(self) -> bool:
        return all(h.state is PathState.DOWN for h in self.paths.values())

    def outage_start(self) -> datetime:
        return max(h.since for h in self.paths.values() if h.since is not None)
