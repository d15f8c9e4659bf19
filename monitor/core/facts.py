"""Facts the monitor records: the tracker's events, plus the evidence beside them.

A fact is a frozen value with its own time; every store backend writes each kind the same way
(``monitor/store``), and the supervisor decides which facts to record and when.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from operator import sub

from monitor.core.model import Interval, PathKey
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
class Unmonitored:
    """An unmonitored gap found while the daemon runs: its event loop stalled, or the wall
    clock stepped forward, for ``gap`` (closed, aware UTC). Journalled as the gaps found at a
    start are (the ``gaps`` table), so it is shown, and taken out of service time, the same
    way."""

    gap: Interval


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One raw probe result kept as evidence: ``target`` a path's name (``active/primary``)
    or ``control:NAME``, ``at`` when the probe was sent (seconds since the epoch, UTC),
    ``rtt`` seconds (None when it failed)."""

    target: str
    at: float
    ok: bool
    rtt: float | None


SPAN_US = 120_000_000
"""A block holds at most two minutes of one target's results (offsets from its base)."""
_HEAD = struct.Struct("<qIII?")  # base, count, first and last offset, deflated
_WBITS = -9  # raw deflate, 512-byte window: a block is a few hundred bytes
NO_RTT = -1
"""The RTT of a failed probe in a block."""


def block(base: int, at: array[int], rtt: array[int], *, deflate: bool = False) -> bytes:
    """One target's results from ``base`` (integer microseconds since the epoch, UTC) on, as
    bytes: a header (base, count, first and last offset), then the send times (uint32
    microseconds after ``base``, ascending, each < :data:`SPAN_US`) and the RTTs (int32
    microseconds, :data:`NO_RTT` for a failed probe), machine byte order. ``deflate``: the
    send times as differences, each array's bytes regrouped by significance (a byte plane
    each), then deflated: ~3.6 bytes a result instead of 8 (two minutes at 1 s, here ~70 us)."""
    n = len(at)
    head = _HEAD.pack(base, n, min(at, default=0), max(at, default=0), deflate)
    if not deflate:
        return head + at.tobytes() + rtt.tobytes()
    steps = array("i", at[:1])  # signed: a late result may come after a later one
    steps.extend(map(sub, at[1:], at[:-1]))
    packed = _planes(steps.tobytes()) + _planes(rtt.tobytes())
    z = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 1, zlib.Z_RLE)
    return head + z.compress(packed) + z.flush()


def span(one: bytes) -> tuple[int, int]:
    """A block's first and last send time (integer microseconds since the epoch), read from its
    header alone."""
    base, _, first, last, _ = _HEAD.unpack_from(one)
    return base + first, base + last


def unblock(one: bytes) -> tuple[int, array[int], array[int]]:
    """A :func:`block`'s base, send-time offsets and RTTs."""
    base, n, _, _, deflated = _HEAD.unpack_from(one)
    body = one[_HEAD.size :]
    rtt = array("i")
    if not deflated:
        at = array("I")
        at.frombytes(body[: 4 * n])
        rtt.frombytes(body[4 * n :])
        return base, at, rtt
    body = zlib.decompress(body, _WBITS)
    steps = array("i")
    steps.frombytes(_unplanes(body[: 4 * n], n))
    rtt.frombytes(_unplanes(body[4 * n :], n))
    return base, array("I", accumulate(steps)), rtt


def _planes(raw: bytes) -> bytes:
    """4-byte values' bytes grouped by position: the constant high bytes of small numbers
    become runs."""
    return b"".join(raw[i::4] for i in range(4))


def _unplanes(planes: bytes, n: int) -> bytes:
    raw = bytearray(4 * n)
    for i in range(4):
        raw[i::4] = planes[i * n : (i + 1) * n]
    return bytes(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One target's raw results in a window, packed (so a thousand captures at once, and
    10,000 paths' last 15 minutes, stay small): :func:`block` s in send-time order, of which
    only the results sent in ``[lo, hi]`` (integer microseconds since the epoch) count."""

    target: str
    blocks: tuple[bytes, ...]
    lo: int = 0
    hi: int = (1 << 63) - 1

    @classmethod
    def pack(cls, target: str, results: Iterable[tuple[int, int]]) -> Series:
        """From (send time, RTT) pairs: integer microseconds since the epoch, RTT
        :data:`NO_RTT` for a failed probe."""
        runs: list[tuple[int, array[int], array[int]]] = []
        for t, r in results:
            if not runs or not 0 <= t - runs[-1][0] < SPAN_US:
                runs.append((t, array("I"), array("i")))
            base, at, rtt = runs[-1]
            at.append(t - base)
            rtt.append(r)
        return cls(target=target, blocks=tuple(block(b, a, r) for b, a, r in runs))

    def __len__(self) -> int:
        """The results in ``[lo, hi]``: a block wholly inside counts from its header; only one
        that straddles an edge is unpacked."""
        lo, hi, n = self.lo, self.hi, 0
        for one in self.blocks:
            base, count, first, last, _ = _HEAD.unpack_from(one)
            if lo <= base + first and base + last <= hi:
                n += count
            elif base + first <= hi and base + last >= lo:
                n += sum(1 for t in unblock(one)[1] if lo <= base + t <= hi)
        return n

    def results(self) -> Iterator[tuple[int, int]]:
        """(send time, RTT): integer microseconds since the epoch, RTT :data:`NO_RTT` for a
        failed probe; in send-time order, within ``[lo, hi]``."""
        lo, hi = self.lo, self.hi
        for one in self.blocks:
            first, last = span(one)
            if last < lo or first > hi:
                continue
            base, at, rtt = unblock(one)
            for t, r in zip(at, rtt, strict=True):
                if lo <= base + t <= hi:
                    yield base + t, r

    def samples(self) -> Iterator[Sample]:
        for t, r in self.results():
            ok = r != NO_RTT
            yield Sample(target=self.target, at=t / 1e6, ok=ok, rtt=r / 1e6 if ok else None)


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


Fact = Event | SnmpObserved | ProbeEvidence | Unmonitored
