"""Probe evidence: the raw results around an incident, kept because the journal keeps only
changes.

Theory of operation
-------------------
:class:`Recorder` keeps every path's (and control target's) raw results for the last
:data:`KEEP` (15 minutes) in memory, compactly: per target two arrays, send times (seconds
since the epoch, float64) and round-trip times (float32 seconds; negative: failed), 12 bytes
a result. SNMP readings and traps are kept per circuit for as long.

When an incident opens or closes, :meth:`Recorder.capture` starts a capture of its circuit:

- opened: from :data:`BEFORE` (10 min) before the incident's (backdated) start to
  :data:`AFTER` (5 min) after its detection;
- closed: from 10 min before its (backdated) end to 5 min after it.

What is already in memory from the window's start is copied at once (so nothing is trimmed
away while waiting); every result of the window that arrives later (a probe in flight at the
capture included) is added to it as it comes. Once the window's end has passed,
:meth:`Recorder.due` hands the capture back as a :class:`ProbeEvidence` fact for the journal,
which stores it compressed (:func:`encode`). The supervisor asks for a tick at
:meth:`Recorder.next_due`. While no capture is pending, a result costs two array appends.
A window that reaches back before the daemon started, or past a stop, holds only what the
daemon saw: a capture pending at a stop is lost.

Pure: times come in as arguments; nothing here reads a clock.
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.core.facts import ProbeEvidence, Sample, SnmpObserved
from monitor.core.inputs import Control, SnmpReading, Target
from monitor.core.model import PathKey, ProbeResult
from monitor.core.tracker import Incident

KEEP = timedelta(minutes=15)
BEFORE = timedelta(minutes=10)
AFTER = timedelta(minutes=5)
TRIM_EVERY_S = 60.0
"""Old results are dropped in one pass per minute (so memory holds up to KEEP + 1 min)."""


class _Ring:
    """One target's recent results: parallel arrays in send-time order."""

    __slots__ = ("at", "rtt")

    def __init__(self) -> None:
        self.at = array("d")
        self.rtt = array("f")

    def since(self, lo: float, hi: float) -> Iterable[tuple[float, float]]:
        i, j = bisect_left(self.at, lo), bisect_right(self.at, hi)
        return zip(self.at[i:j], self.rtt[i:j], strict=True)

    def trim(self, before: float) -> None:
        n = bisect_left(self.at, before)
        if n:
            del self.at[:n]
            del self.rtt[:n]


@dataclass(slots=True, kw_only=True)
class _Capture:
    circuit: str
    incident: int
    reason: str
    lo: float
    hi: float
    samples: list[Sample] = field(default_factory=list)

    def take(self, name: str, at: float, rtt: float) -> None:
        if self.lo <= at <= self.hi:
            self.samples.append(
                Sample(target=name, at=at, ok=rtt >= 0, rtt=float(rtt) if rtt >= 0 else None)
            )


def _name(key: Target) -> str:
    return key.name if isinstance(key, PathKey) else f"control:{key.name}"


class Recorder:
    """See the module docstring."""

    def __init__(self) -> None:
        self._rings: dict[Target, _Ring] = {}
        self._snmp: dict[str, deque[SnmpObserved]] = {}
        self._captures: list[_Capture] = []
        self._pending: dict[str, list[_Capture]] = {}  # by circuit
        self._trimmed = -math.inf

    # -- feeding -------------------------------------------------------------------------------
    def add(self, results: Sequence[tuple[Target, ProbeResult]]) -> None:
        """Keep a batch of results (each target's in time order)."""
        rings = self._rings
        latest = -math.inf
        for key, r in results:
            ring = rings.get(key)
            if ring is None:
                ring = rings[key] = _Ring()
            at = r.at.timestamp()
            ring.at.append(at)
            ring.rtt.append((r.rtt or 0.0) if r.ok else -1.0)
            latest = at
        if self._captures:
            self._feed(results)
        if latest - self._trimmed >= TRIM_EVERY_S:
            self._trim(latest)

    def _feed(self, results: Sequence[tuple[Target, ProbeResult]]) -> None:
        """Results arriving while captures are pending go straight into theirs."""
        for key, r in results:
            if isinstance(key, Control):
                captures = self._captures
            else:
                captures = self._pending.get(key.circuit, [])
            for c in captures:
                c.take(_name(key), r.at.timestamp(), (r.rtt or 0.0) if r.ok else -1.0)

    def reading(self, r: SnmpReading) -> None:
        """Keep an SNMP reading or trap of a path."""
        kept = SnmpObserved(path=r.path, at=r.at, kind=r.kind, value=r.value, text=r.text)
        self._snmp.setdefault(r.path.circuit, deque()).append(kept)

    def forget(self, keys: Iterable[Target]) -> None:
        """Drop the results of targets no longer probed."""
        for key in keys:
            self._rings.pop(key, None)

    def _trim(self, now: float) -> None:
        before = now - KEEP.total_seconds()
        for ring in self._rings.values():
            ring.trim(before)
        for readings in self._snmp.values():
            while readings and readings[0].at.timestamp() < before:
                readings.popleft()
        self._trimmed = now

    # -- captures ------------------------------------------------------------------------------
    def capture(self, incident: Incident, reason: str, now: datetime) -> None:
        """Start capturing around ``incident``'s opening (``reason`` ``opened``) or closing
        (``closed``), seen at ``now``."""
        if reason == "opened":
            lo, hi = incident.start - BEFORE, incident.detected + AFTER
        else:
            assert incident.end is not None
            lo, hi = incident.end - BEFORE, incident.end + AFTER
        c = _Capture(circuit=incident.circuit, incident=incident.id, reason=reason,
                     lo=lo.timestamp(), hi=hi.timestamp())  # fmt: skip
        for key, ring in self._rings.items():  # what memory holds of the window now
            if isinstance(key, Control) or key.circuit == c.circuit:
                name = _name(key)
                for at, rtt in ring.since(c.lo, c.hi):
                    c.take(name, at, rtt)
        self._captures.append(c)
        self._pending.setdefault(c.circuit, []).append(c)

    def next_due(self) -> datetime | None:
        """When the next capture is complete (None: none pending)."""
        if not self._captures:
            return None
        return datetime.fromtimestamp(min(c.hi for c in self._captures), UTC)

    def due(self, now: datetime) -> list[ProbeEvidence]:
        """Captures whose window has ended by ``now``, finished, oldest window first."""
        t = now.timestamp()
        done = sorted((c for c in self._captures if c.hi <= t), key=lambda c: c.hi)
        if not done:
            return []
        self._captures = [c for c in self._captures if c.hi > t]
        self._pending = {}
        for c in self._captures:
            self._pending.setdefault(c.circuit, []).append(c)
        out = []
        for c in done:
            readings = tuple(r for r in self._snmp.get(c.circuit, ())
                             if c.lo <= r.at.timestamp() <= c.hi)  # fmt: skip
            out.append(
                ProbeEvidence(
                    circuit=c.circuit,
                    incident=c.incident,
                    reason=c.reason,
                    start=datetime.fromtimestamp(c.lo, UTC),
                    end=datetime.fromtimestamp(c.hi, UTC),
                    at=now,
                    samples=tuple(sorted(c.samples, key=lambda s: (s.at, s.target))),
                    readings=readings,
                )
            )
        return out


# -- the stored form ---------------------------------------------------------------------------
def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def document(e: ProbeEvidence) -> dict[str, Any]:
    """The evidence as a JSON document: times ISO 8601 UTC to the microsecond, RTTs in ms."""
    return {
        "circuit": e.circuit,
        "incident": e.incident,
        "reason": e.reason,
        "window": {"start": _iso(e.start), "end": _iso(e.end)},
        "captured_at": _iso(e.at),
        "results": [
            {"target": s.target, "at": _iso(datetime.fromtimestamp(s.at, UTC)), "ok": s.ok,
             "rtt_ms": None if s.rtt is None else round(s.rtt * 1000, 3)}
            for s in e.samples
        ],
        "snmp": [
            {"path": r.path.name, "at": _iso(r.at), "kind": r.kind, "value": r.value,
             "text": r.text}
            for r in e.readings
        ],
    }  # fmt: skip


def encode(e: ProbeEvidence) -> bytes:
    """:func:`document` as gzip'd UTF-8 JSON (no file name, time 0: the same evidence gives
    the same bytes). ``gunzip`` or any JSON reader opens it."""
    text = json.dumps(document(e), ensure_ascii=False, indent=1)
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
