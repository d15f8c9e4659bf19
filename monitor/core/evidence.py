"""Probe evidence: the raw results around an incident, kept because the journal keeps only
changes.

Theory of operation
-------------------
:class:`Recorder` keeps every path's (and control target's) raw results for the last
:data:`KEEP` (15 minutes) in memory, compactly. A target's live block (up to two minutes) is
two arrays: send times (uint32 microseconds after the block's first, itself integer
microseconds since the epoch) and round-trip times (int32 microseconds; :data:`NO_RTT`:
failed), 8 bytes a result. When a result falls past its two minutes, the block is packed into
immutable bytes (:func:`~monitor.core.facts.block`: differences, byte planes, deflate; ~3.6
bytes a result, ~70 us a block, spread over the second as the targets' blocks roll over) and
a new one begins: 10,000 paths probed every second hold ~45 MB (bench/recorder_bench.py).
Microseconds are what the journal keeps of an RTT, so nothing it would hold is lost. SNMP
readings and traps are kept per circuit for as long.

When an incident opens or closes, :meth:`Recorder.capture` starts a capture of its circuit:

- opened: from :data:`BEFORE` (10 min) before the incident's (backdated) start to
  :data:`AFTER` (5 min) after its detection;
- closed: from 10 min before its (backdated) end to 5 min after it.

What is already in memory from the window's start is taken at once (so nothing is trimmed
away while waiting): the packed blocks that reach into the window are shared, not copied or
unpacked, and the live block's part is copied; every result of the window that arrives
later (a probe in flight at the capture included) is added to it as it comes. Once the
window's end has passed, :meth:`Recorder.due` hands the capture back as a
:class:`ProbeEvidence` fact for the journal, which stores it compressed (:func:`encode`). The
supervisor asks for a tick at :meth:`Recorder.next_due`. While no capture is pending, a result
costs two array appends; a capture costs no work per result, and the blocks are unpacked (and
clipped to the window) only in :func:`document`, in the journal writer's thread.
A window that reaches back before the daemon started, or past a stop, holds only what the
daemon saw: a capture pending at a stop is lost.

Pure: times come in as arguments; nothing here reads a clock.
"""

from __future__ import annotations

import gzip
import json
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.core.facts import NO_RTT, SPAN_US, ProbeEvidence, Series, SnmpObserved, block, span
from monitor.core.inputs import Probed, SnmpReading, Target
from monitor.core.model import PathKey
from monitor.core.tracker import Incident

KEEP = timedelta(minutes=15)
BEFORE = timedelta(minutes=10)
AFTER = timedelta(minutes=5)
TRIM_EVERY_US = 60_000_000
"""Old results are dropped in one pass per minute (so memory holds up to KEEP + 1 min)."""
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(at: datetime) -> int:
    """Aware ``at`` as integer microseconds since the epoch."""
    return int(at.timestamp() * _US + 0.5)


def _at(us: int) -> datetime:
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


class _Run:
    """The results of two minutes at most from ``base`` (integer microseconds since the
    epoch) on: offsets (uint32 microseconds after it) and RTTs (int32 microseconds,
    :data:`NO_RTT` failed), parallel arrays in send-time order."""

    __slots__ = ("at", "base", "rtt")

    def __init__(self, base: int) -> None:
        self.base = base
        self.at = array("I")
        self.rtt = array("i")


_NONE = _Run(-2 * SPAN_US)  # never appended to: any time is too far from its base


class _Ring:
    """One target's results: packed blocks of two minutes each (:func:`block`), oldest
    first, then the live block (``last``), which is packed when the next one starts."""

    __slots__ = ("blocks", "deflate", "last", "name")

    def __init__(self, name: str = "", *, deflate: bool = True) -> None:
        self.name, self.deflate = name, deflate
        self.blocks: list[bytes] = []
        self.last = _NONE

    def add(self, at: int, rtt: int) -> None:
        run = self.last
        off = at - run.base
        if not 0 <= off < SPAN_US:
            run, off = self.start(at), 0
        run.at.append(off)
        run.rtt.append(rtt)

    def start(self, at: int) -> _Run:
        """Pack the live block and start the next at ``at``."""
        old = self.last
        if old.at:
            self.blocks.append(block(old.base, old.at, old.rtt, deflate=self.deflate))
        run = self.last = _Run(at)
        return run

    def trim(self, before: int) -> None:
        """Drop the blocks whose every result was sent before ``before`` (so up to two
        minutes older is kept); the live block too when all of it is (a target no longer probed)."""
        blocks = self.blocks
        n = 0
        while n < len(blocks) and span(blocks[n])[1] < before:
            n += 1
        del blocks[:n]
        run = self.last
        if run.at and run.base + run.at[-1] < before:
            self.last = _NONE

    def window(self, lo: int, hi: int) -> Iterator[bytes]:
        """What the ring holds of ``[lo, hi]`` (microseconds): its blocks that reach into the
        window as they are (shared, immutable; the reader clips them) and the live block's
        part as a new raw block."""
        for one in self.blocks:
            first, last = span(one)
            if first <= hi and last >= lo:
                yield one
        run = self.last
        i = bisect_left(run.at, lo - run.base)
        j = bisect_right(run.at, hi - run.base)
        if i < j:
            yield block(run.base, run.at[i:j], run.rtt[i:j])

    def packed(self) -> tuple[bytes, ...]:
        """Every result held, as blocks (the live block raw)."""
        run = self.last
        live = (block(run.base, run.at, run.rtt),) if run.at else ()
        return (*self.blocks, *live)


@dataclass(slots=True, kw_only=True)
class _Capture:
    circuit: str
    incident: int
    reason: str
    lo: int
    hi: int
    """The window, microseconds since the epoch."""
    parts: dict[str, _Ring] = field(default_factory=dict)
    """Per target name, the window's results so far (compact: a region going dark is a
    thousand captures at once)."""

    def part(self, name: str) -> _Ring:
        ring = self.parts.get(name)
        if ring is None:
            ring = self.parts[name] = _Ring(name, deflate=False)
        return ring

    def copy(self, name: str, ring: _Ring) -> None:
        """What ``ring`` holds of the window (its packed blocks shared, not copied)."""
        blocks = list(ring.window(self.lo, self.hi))
        if blocks:
            self.part(name).blocks.extend(blocks)

    def take(self, name: str, at: int, rtt: int) -> None:
        """A result that arrived after the capture began (``rtt`` microseconds)."""
        if self.lo <= at <= self.hi:
            self.part(name).add(at, rtt)


def _name(key: Target) -> str:
    return key.name if isinstance(key, PathKey) else f"control:{key.name}"


class Recorder:
    """See the module docstring."""

    def __init__(self) -> None:
        self._rings: dict[Target, _Ring] = {}
        self._members: dict[str, list[tuple[str, _Ring]]] = {}
        """Per circuit its paths' rings by name; the control targets' under ``""``."""
        self._snmp: dict[str, deque[SnmpObserved]] = {}
        self._captures: list[_Capture] = []
        self._pending: dict[str, list[_Capture]] = {}  # by circuit
        self._trimmed = -(1 << 62)

    # -- feeding -------------------------------------------------------------------------------
    def add(self, batch: Probed) -> None:
        """Keep a batch of results (each target's in time order)."""
        if not batch:
            return
        if self._captures:
            latest = self._feed(batch)
        else:
            rings, width, us = self._rings, SPAN_US, 1e6
            sent, at = None, 0
            for key, when, ok, rtt in batch.rows():
                ring = rings.get(key)
                if ring is None:
                    ring = self._ring(key)
                if when is not sent:  # the engine's echoes of one burst share their time
                    sent, at = when, int(when.timestamp() * us + 0.5)
                run = ring.last
                off = at - run.base
                if not 0 <= off < width:
                    run, off = ring.start(at), 0
                run.at.append(off)
                run.rtt.append(int((rtt or 0.0) * us + 0.5) if ok else -1)
            latest = at
        if latest - self._trimmed >= TRIM_EVERY_US:
            self._trim(latest)

    def _ring(self, key: Target) -> _Ring:
        ring = self._rings[key] = _Ring(_name(key))
        group = key.circuit if isinstance(key, PathKey) else ""
        self._members.setdefault(group, []).append((ring.name, ring))
        return ring

    def _feed(self, batch: Probed) -> int:
        """:meth:`add` while captures are pending: each result also goes straight into the
        captures of its circuit (a control target's into every one). The latest send time."""
        rings, pending, every = self._rings, self._pending, self._captures
        latest = -SPAN_US
        for key, when, ok, rtt_s in batch.rows():
            ring = rings.get(key)
            if ring is None:
                ring = self._ring(key)
            at = int(when.timestamp() * _US + 0.5)
            rtt = int((rtt_s or 0.0) * _US + 0.5) if ok else NO_RTT
            ring.add(at, rtt)
            latest = at
            captures = pending.get(key.circuit) if isinstance(key, PathKey) else every
            if captures:
                for c in captures:
                    c.take(ring.name, at, rtt)
        return latest

    def reading(self, r: SnmpReading) -> None:
        """Keep an SNMP reading or trap of a path."""
        kept = SnmpObserved(path=r.path, at=r.at, kind=r.kind, value=r.value, text=r.text)
        self._snmp.setdefault(r.path.circuit, deque()).append(kept)

    def _trim(self, now: int) -> None:
        before = now - KEEP // timedelta(microseconds=1)
        for ring in self._rings.values():
            ring.trim(before)
        for readings in self._snmp.values():
            while readings and _us(readings[0].at) < before:
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
                     lo=_us(lo), hi=_us(hi))  # fmt: skip
        for name, ring in (*self._members.get(c.circuit, ()), *self._members.get("", ())):
            c.copy(name, ring)  # what memory holds of the window now
        self._captures.append(c)
        self._pending.setdefault(c.circuit, []).append(c)

    def next_due(self) -> datetime | None:
        """When the next capture is complete (None: none pending)."""
        if not self._captures:
            return None
        return _at(min(c.hi for c in self._captures))

    def due(self, now: datetime) -> list[ProbeEvidence]:
        """Captures whose window has ended by ``now``, finished, oldest window first."""
        t = _us(now)
        done = sorted((c for c in self._captures if c.hi <= t), key=lambda c: c.hi)
        if not done:
            return []
        self._captures = [c for c in self._captures if c.hi > t]
        self._pending = {}
        for c in self._captures:
            self._pending.setdefault(c.circuit, []).append(c)
        return [self._finished(c, now) for c in done]

    def _finished(self, c: _Capture, now: datetime) -> ProbeEvidence:
        readings = tuple(r for r in self._snmp.get(c.circuit, ())
                         if c.lo <= _us(r.at) <= c.hi)  # fmt: skip
        series = tuple(Series(target=name, blocks=part.packed(), lo=c.lo, hi=c.hi)
                       for name, part in sorted(c.parts.items()))  # fmt: skip
        return ProbeEvidence(circuit=c.circuit, incident=c.incident, reason=c.reason,
                             start=_at(c.lo), end=_at(c.hi), at=now, series=series,
                             readings=readings)  # fmt: skip


# -- the stored form ---------------------------------------------------------------------------
def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def document(e: ProbeEvidence) -> dict[str, Any]:
    """The evidence as a JSON document: per target, its results' send times (integer
    microseconds since the epoch, UTC, as in the chain) and RTTs in ms (null: no answer)."""
    results = {}
    for one in e.series:
        pairs = list(one.results())
        results[one.target] = {
            "at_us": [t for t, _ in pairs],
            "rtt_ms": [r / 1000 if r != NO_RTT else None for _, r in pairs],
        }
    return {
        "circuit": e.circuit,
        "incident": e.incident,
        "reason": e.reason,
        "window": {"start": _iso(e.start), "end": _iso(e.end)},
        "captured_at": _iso(e.at),
        "results": results,
        "snmp": [
            {"path": r.path.name, "at": _iso(r.at), "kind": r.kind, "value": r.value,
             "text": r.text}
            for r in e.readings
        ],
    }  # fmt: skip


def encode(e: ProbeEvidence) -> bytes:
    """:func:`document` as gzip'd UTF-8 JSON (no file name, time 0: the same evidence gives
    the same bytes). ``gunzip`` or any JSON reader opens it."""
    text = json.dumps(document(e), ensure_ascii=False, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
