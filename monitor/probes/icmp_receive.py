"""The ICMP engine's receiving half (icmp.py): replies matched to echoes in flight.

A mix-in of ``IcmpEngine``: the names it declares are the engine's state, set up there. See
icmp.py's theory of operation for how a reply is matched and timed.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from datetime import datetime

from monitor.probes.icmp_flight import Batch, Family, Probe, same_host
from monitor.probes.icmp_loop import Reactor, Timer
from monitor.probes.icmp_packet import TOKEN_LEN, parse
from monitor.probes.icmp_socket import ANCILLARY, STAMPS

try:
    from monitor.probes import _native as NATIVE
except ImportError:  # not built (no C compiler at install): the Python loops do the work
    NATIVE = None  # type: ignore[assignment]

__all__ = ["EXPIRY_GRAIN_S", "NATIVE", "RECV_BYTES", "Receiving", "grain"]

EXPIRY_GRAIN_S = 0.02
"""Deadlines are checked on multiples of this (loop clock): a burst's timeouts are reported up
to 20 ms after its deadline (a late reply is still judged by its own RTT), and the bursts of a
batch share one wake-up instead of one each (every wake-up costs CPU: probing.py)."""
RECV_BYTES = 256
"""Bytes read of a packet: an echo reply is 44 with its IPv4 header; an ICMP error about our
echo needs at most 152 (two IPv4 headers with options, the error's header, our echo). The
kernel drops what does not fit, none of which is needed. (_native.c reads as many.)"""


class Receiving:
    """Reading replies and ending echoes (the engine's state, declared for the type checker)."""

    ident: int
    _slots: list[Probe | None]
    _inflight: int
    _counts: dict[str, int]
    _native: bool
    _wall: Callable[[], datetime]
    _loop: Reactor | None
    _timer: Timer | None
    _expiry: list[tuple[float, int, list[Probe]]]
    _families: dict[bool, Family]

    def _drain(self, fam: Family) -> None:
        """Read every queued packet, not just one, on each wake-up (the hot path): in C
        where it was built (_native.drain), else here."""
        if self._native:
            self._drain_native(fam)
            return
        recvmsg, slots, skip, kind = fam.sock.recvmsg, self._slots, fam.skip, fam.reply_kind
        strip_ip, mono = fam.strip_ip, time.monotonic_ns
        offset = time.time_ns() - mono()  # kernel stamps (CLOCK_REALTIME) -> the loop's clock
        received = stamped = 0
        while True:
            try:
                packet, anc, _, source = recvmsg(RECV_BYTES, ANCILLARY)
            except OSError:  # EAGAIN: drained; anything else: nothing more to read now
                break
            stamp = STAMPS.get(anc[0][1]) if anc else None
            if stamp is not None:
                sec, ns = stamp.unpack(anc[0][2])
                rx, kernel = sec * 1_000_000_000 + ns - offset, 1
            else:
                rx, kernel = mono(), 0
            icmp = (packet[0] & 15) << 2 if strip_ip and packet else 0  # past the IPv4 header
            wire = packet[icmp + 6] << 8 | packet[icmp + 7] if len(packet) >= icmp + 8 else 0
            p = slots[wire]
            if (
                p is None
                or packet[icmp + skip :] != p.expect
                or (skip and (packet[icmp] != kind or packet[icmp + 1]))
                or source[0] != p.addr
            ):
                self._on_packet(fam, packet, source[0], rx, kernel)
                continue
            # _answer, inline for a reply within its timeout: this runs for every echo
            rtt, b = (rx - p.sent) / 1e9, p.batch
            if rtt > b.timeout:
                self._answer(p, rx)
                continue
            slots[wire] = None
            b.rtts[p.index] = rtt if rtt > 0 else 0.0
            b.left -= 1
            if not b.left and not b.future.done():
                b.future.set_result(None)
            received += 1
            stamped += kernel
        self._inflight -= received
        counts = self._counts
        counts["received"] += received
        counts["kernel_stamped"] += stamped

    def _drain_native(self, fam: Family) -> None:
        """``_drain`` in C: its fast path there, the rest (``_on_packet``) here."""
        slots = self._slots
        got = NATIVE.drain(fam.fd, slots, fam.strip_ip, fam.skip, fam.reply_kind)
        received, stamped, ended, others = got
        self._inflight -= received
        counts = self._counts
        counts["received"] += received
        counts["kernel_stamped"] += stamped
        for b in ended:
            if not b.future.done():
                b.future.set_result(None)
        for packet, source, rx, kernel in others:
            self._on_packet(fam, packet, source, rx, kernel)

    def _answer(self, p: Probe, rx: int) -> bool:
        """``p``'s reply arrived at ``rx`` (loop clock, ns): its RTT, or a timeout if that
        exceeds the timeout (however soon the loop read it). True for an RTT."""
        rtt = (rx - p.sent) / 1e9
        b = p.batch
        if rtt > b.timeout:
            self._counts["timeouts"] += 1
            self._fail(p, "timeout")
            return False
        self._slots[p.wire] = None
        self._inflight -= 1
        b.rtts[p.index] = rtt if rtt > 0 else 0.0
        b.left -= 1  # Batch.ended(), inline: this runs for every reply
        if not b.left and not b.future.done():
            b.future.set_result(None)
        return True

    def _on_packet(self, fam: Family, packet: bytes, source: str, rx: int, kernel: int) -> None:
        """The slow path: an ICMP error about one of our echoes, a reply the fast comparison
        missed (e.g. an IPv6 source written another way), or a stranger's packet."""
        parsed = parse(packet, v6=fam.v6, has_ip_header=fam.strip_ip)
        p = None if parsed is None else self._slots[parsed.seq]
        counts = self._counts
        if (
            parsed is None
            or p is None
            or p.fam is not fam
            or (fam.raw and parsed.ident != self.ident)
            or (parsed.token is not None and parsed.token != p.packet[-TOKEN_LEN:])
        ):
            counts["foreign_ignored"] += 1
        elif parsed.reply and same_host(source, p.addr):
            if self._answer(p, rx):
                counts["received"] += 1
                counts["kernel_stamped"] += kernel
        elif not parsed.reply and parsed.quoted_dest and same_host(parsed.quoted_dest, p.addr):
            counts["errors_received"] += 1
            self._fail(p, f"{parsed.error} from {source}")
        else:
            counts["foreign_ignored"] += 1

    def _fail(self, p: Probe, error: str) -> None:
        """End ``p`` with ok=False and ``error``."""
        self._slots[p.wire] = None
        self._inflight -= 1
        self._end(p.batch, p.index, error)

    def _end(self, b: Batch, index: int, error: str) -> None:
        """Record that echo ``index`` of ``b`` failed (sent or not) and why."""
        b.errors[index] = error
        if b.ats[index] is None:  # never sent: its time is now
            b.ats[index] = self._wall()
        b.ended()

    # -- timeouts ------------------------------------------------------------------------------
    def _arm(self) -> None:
        """Point the single timer at the earliest deadline (or at nothing)."""
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        heap = self._expiry
        self._timer = self._loop.call_at(grain(heap[0][0]), self._expire) if heap else None

    def _expire(self) -> None:
        """Time out every probe of every burst whose deadline has passed (answered probes
        stay in their burst's list; they are skipped here, a whole batch at once when it has
        ended already)."""
        assert self._loop is not None
        for fam in list(self._families.values()):  # a late loop may not have read them yet:
            self._drain(fam)  # replies that arrived in time (the kernel says when) count
        now, heap, slots = self._loop.time(), self._expiry, self._slots
        timeouts = 0
        while heap and heap[0][0] <= now:
            burst = heapq.heappop(heap)[2]
            if not burst[0].batch.left:
                continue
            for p in burst:
                if slots[p.wire] is p:
                    timeouts += 1
                    self._fail(p, "timeout")
        self._counts["timeouts"] += timeouts
        self._timer = None
        self._arm()


def grain(deadline: float) -> float:
    """``deadline`` rounded up to a multiple of EXPIRY_GRAIN_S."""
    return math.ceil(deadline / EXPIRY_GRAIN_S) * EXPIRY_GRAIN_S
