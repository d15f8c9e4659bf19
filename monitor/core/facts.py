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


SPAN_US = 1 << 32
"""A run's offsets are uint32 microseconds: a run covers 71.6 minutes from its base."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One target's raw results in a window, packed (8 bytes a result, so a thousand
    captures at once, and 10,000 paths' last 15 minutes, stay small): runs of ``(base, at,
    rtt)`` in send-time order: ``base`` integer microseconds since the epoch (UTC), ``at``
    uint32 microseconds after it, ``rtt`` float32 seconds, negative for a failed probe;
    machine byte order. A new run starts where an offset would not fit in 32 bits."""

    target: str
    runs: tuple[tuple[int, bytes, bytes], ...]

    @classmethod
    def pack(cls, target: str, results: Iterable[tuple[int, float]]) -> Series:
        """From (send time in integer microseconds since the epoch, RTT or -1.0) pairs."""
        runs: list[tuple[int, array[int], array[float]]] = []
        for t, r in results:
            if not runs or not 0 <= t - runs[-1][0] < SPAN_US:
                runs.append((t, array("I"), array("f")))
            base, at, rtt = runs[-1]
            at.append(t - base)
            rtt.append(r)
        return cls(target=target, runs=tuple((b, a.tobytes(), r.tobytes()) for b, a, r in runs))

    def __len__(self) -> int:
        return sum(len(at) // 4 for _, at, _ in self.runs)

    def results(self) -> Iterator[tuple[int, float]]:
        """(send time in integer microseconds since the epoch, RTT in seconds or -1.0)."""
        for base, packed_at, packed_rtt in self.runs:
            at, rtt = array("I"), array("f")
            at.frombytes(packed_at)
            rtt.frombytes(packed_rtt)
            for t, r in zip(at, rtt, strict=True):
                yield base + t, r

    def samples(self) -> Iterator[Sample]:
        for t, r in self.results():
            yield Sample(
                target=self.target, at=t / 1e6, ok=r >= 0, rtt=float(r) if r >= 0 else None
            )


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
