"""A circuit's health at a glance, for the overview of many circuits.

    unavailable  an incident is open (every path down: the SLA's outage)
    degraded     no incident, but some path is down (redundancy lost)
    available    no path down and at least one up
    unknown      no path seen up or down yet (just started, or every path unknown)

:data:`URGENCY` orders them most urgent first, as the overview lists circuits.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from monitor.core.model import PathState


class Health(StrEnum):
    UNAVAILABLE = "unavailable"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"
    AVAILABLE = "available"


URGENCY: dict[Health, int] = {h: n for n, h in enumerate(Health)}
"""Rank of each health, most urgent (0) first."""


def health(paths: Iterable[PathState], incident_open: bool) -> Health:
    """The circuit's health from its paths' states and whether an incident is open."""
    if incident_open:
        return Health.UNAVAILABLE
    states = set(paths)
    if PathState.DOWN in states:
        return Health.DEGRADED
    if PathState.UP in states:
        return Health.AVAILABLE
    return Health.UNKNOWN
