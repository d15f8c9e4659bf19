"""Facts the monitor records: the tracker's events, plus the evidence beside them.

A fact is a frozen value with its own time; every store backend writes each kind the same way
(``monitor/store``), and the supervisor decides which facts to record and when.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
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
class Series:
    """One target's raw results in a window, packed (12 bytes a result, so a thousand
    captures at once stay small): ``at`` float64 seconds since the epoch (UTC), ``rtt``
    float32 seconds, negative for a failed probe; machine byte order."""

    target: str
    at: bytes
    rtt: bytes

    @classmethod
    def pack(cls, target: str, results: Iterable[tuple[float, float]]) -> Series:
        """From (send time, RTT or -1.0) pairs."""
        at, rtt = array("d"), array("f")
        for t, r in results:
            at.append(t)
            rtt.append(r)
        return cls(target=target, at=at.tobytes(), rtt=rtt.tobytes())

    def __len__(self) -> int:
        return len(self.at) // 8

    def samples(self) -> Iterator[Sample]:
        at, rtt = array("d"), array("f")
        at.frombytes(self.at)
        rtt.frombytes(self.rtt)
        for t, r in zip(at, rtt, strict=True):
            yield Sample(target=self.target, at=t, ok=r >= 0, rtt=float(r) if r >= 0 else None)


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
    series: tuple[Series, ...]
    readings: tuple[SnmpObserved, ...]

    @property
    def samples(self) -> tuple[Sample, ...]:
        """Every result, in send-time order (then by target)."""
        every = (s for one in self.series for s in one.samples())
        return tuple(sorted(every, key=lambda s: (s.at, s.target)))

    @property
    def count(self) -> int:
        return sum(len(one) for one in self.series)


Fact = Event | SnmpObserved | ProbeEvidence
