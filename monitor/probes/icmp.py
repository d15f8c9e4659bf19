"""ICMP echo on one socket per address family: fping's design in asyncio.

Why one socket: every raw ICMP socket receives a copy of every ICMP packet the host gets, so
N sockets for N targets cost N x N wake-ups (aioping saw 530 of 4,096 replies here). One
socket, a reader callback that drains it completely on every wake-up, an enlarged receive
buffer (the default ~208 KiB holds only ~256 replies), and futures on one deadline heap with
a single timer (no task per probe) keep up with fping.

Matching: identifier (ours), 16-bit wire sequence, payload (magic + 32-bit sequence) and the
source address must all agree; anything else is counted as foreign and ignored. Sends are
paced in batches so a burst never overflows the socket buffer; a send the kernel refuses
(other than "try again") is an immediate loss with the error. A timeout is a result, never
an exception. Times: RTTs and timeouts on the loop's monotonic clock; ``at`` (send time)
from the injected wall clock, aware UTC.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import heapq
import ipaddress
import os
import random
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.core.errors import ProbeSetupError
from monitor.core.model import ProbeResult
from monitor.probes.icmp_packet import echo_request, parse

RCVBUF = 8 * 1024 * 1024
SEND_BATCH = 256
"""Packets sent per turn of the event loop before replies are drained again."""
RETRY_SEND_S = 0.001


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Pending:
    target: str
    seq: int
    deadline: float
    future: asyncio.Future[ProbeResult]
    sent_mono: float = 0.0
    sent_at: datetime | None = None


@dataclass(slots=True)
class Stats:
    sent: int = 0
    received: int = 0
    foreign_ignored: int = 0
    timeouts: int = 0
    send_errors: int = 0
    errors_received: int = 0


class _Family:
    """One socket (raw, or datagram as a fallback) for IPv4 or IPv6."""

    def __init__(self, v6: bool) -> None:
        self.v6 = v6
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        try:
            self.sock = socket.socket(fam, socket.SOCK_RAW, proto)
            self.raw = True
        except PermissionError:
            try:
                self.sock = socket.socket(fam, socket.SOCK_DGRAM, proto)
                self.raw = False
            except OSError:
                raise ProbeSetupError(
                    "ICMP needs a raw socket: run as root, or grant CAP_NET_RAW (e.g. "
                    "`setcap cap_net_raw+ep $(readlink -f .venv/bin/python)`, or "
                    "AmbientCapabilities=CAP_NET_RAW in the systemd unit), or allow "
                    "unprivileged ping sockets with sysctl net.ipv4.ping_group_range"
                ) from None
        self.sock.setblocking(False)
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
                break
            except OSError:
                continue
        # IPv4 raw sockets hand us the IP header; IPv6 raw and datagram sockets do not.
        self.has_ip_header = self.raw and not v6


class IcmpEngine:
    """Echo probes to many targets over one socket per family."""

    def __init__(self, *, wall: Callable[[], datetime] = _utcnow, ident: int | None = None) -> None:
        self._wall = wall
        self.ident = (os.getpid() ^ random.getrandbits(16)) & 0xFFFF if ident is None else ident
        self._families: dict[bool, _Family] = {}
        self._pending: dict[int, _Pending] = {}
        self._heap: list[tuple[float, int, int]] = []  # (deadline, seq32, wire seq)
        self._timer: asyncio.TimerHandle | None = None
        self._queue: deque[_Pending] = deque()
        self._pumping = False
        self._seq = random.getrandbits(16)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = Stats()

    async def start(self) -> None:
        """Open the IPv4 socket (IPv6 opens on first use); ProbeSetupError if impossible."""
        self._loop = asyncio.get_running_loop()
        self._family(False)

    async def __aenter__(self) -> IcmpEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for fam in self._families.values():
            if self._loop is not None:
                self._loop.remove_reader(fam.sock.fileno())
            fam.sock.close()
        self._families.clear()
        if self._timer:
            self._timer.cancel()
        for p in list(self._pending.values()):
            self._finish(p, ok=False, error="engine closed")

    def _family(self, v6: bool) -> _Family:
        fam = self._families.get(v6)
        if fam is None:
            assert self._loop is not None, "IcmpEngine.start() first"
            fam = self._families[v6] = _Family(v6)
            self._loop.add_reader(fam.sock.fileno(), self._drain, fam)
        return fam

    # -- probing -----------------------------------------------------------------------------
    def _submit(self, target: str, timeout: float) -> asyncio.Future[ProbeResult]:
        loop = self._loop
        assert loop is not None, "IcmpEngine.start() first"
        fut: asyncio.Future[ProbeResult] = loop.create_future()
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        while (self._seq & 0xFFFF) in self._pending:  # 65,536 in flight: skip busy numbers
            self._seq = (self._seq + 1) & 0xFFFFFFFF
        p = _Pending(target=target, seq=self._seq, deadline=timeout, future=fut)
        self._pending[self._seq & 0xFFFF] = p
        self._queue.append(p)
        if not self._pumping:
            self._pumping = True
            loop.call_soon(self._pump)
        return fut

    async def probe(self, target: str, *, timeout: float = 1.0) -> ProbeResult:
        """One echo to ``target`` (an IP address); a timeout is a result with ok=False."""
        return await self._submit(target, timeout)

    async def probe_many(
        self, targets: Sequence[str], *, timeout: float = 1.0
    ) -> list[ProbeResult]:
        """One echo to each target, all in flight at once; results in the same order."""
        return list(await asyncio.gather(*(self._submit(t, timeout) for t in targets)))

    async def burst(
        self, target: str, *, count: int = 3, spacing: float = 0.2, timeout: float = 1.0
    ) -> list[ProbeResult]:
        """``count`` echoes ``spacing`` seconds apart (to confirm a cut quickly)."""
        futures = []
        for i in range(count):
            if i:
                await asyncio.sleep(spacing)
            futures.append(self._submit(target, timeout))
        return list(await asyncio.gather(*futures))

    def _pump(self) -> None:
        """Send up to SEND_BATCH queued echoes, then yield to the loop (replies drain)."""
        loop = self._loop
        assert loop is not None
        for _ in range(min(SEND_BATCH, len(self._queue))):
            p = self._queue.popleft()
            if not self._send(p, loop):
                self._queue.appendleft(p)  # kernel buffer full: try again shortly
                loop.call_later(RETRY_SEND_S, self._pump)
                return
        if self._queue:
            loop.call_soon(self._pump)
        else:
            self._pumping = False

    def _send(self, p: _Pending, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            v6 = ipaddress.ip_address(p.target).version == 6
            fam = self._family(v6)
            packet = echo_request(self.ident, p.seq, v6=v6)
            p.sent_at, p.sent_mono = self._wall(), loop.time()
            fam.sock.sendto(packet, (p.target, 0))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                return False
            self.stats.send_errors += 1
            self._finish(p, ok=False, error=f"send: {exc}")
            return True
        except ValueError as exc:
            self._finish(p, ok=False, error=f"bad target: {exc}")
            return True
        self.stats.sent += 1
        p.deadline = p.sent_mono + p.deadline  # the timeout runs from the send
        heapq.heappush(self._heap, (p.deadline, p.seq, p.seq & 0xFFFF))
        if self._timer is None or self._timer.when() > p.deadline:
            self._arm(loop)
        return True

    # -- receiving ---------------------------------------------------------------------------
    def _drain(self, fam: _Family) -> None:
        """Read every queued packet (not just one) on each wake-up."""
        while True:
            try:
                packet, addr = fam.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._on_packet(fam, packet, addr[0])

    def _on_packet(self, fam: _Family, packet: bytes, source: str) -> None:
        parsed = parse(packet, v6=fam.v6, has_ip_header=fam.has_ip_header)
        if parsed is not None and parsed.request:
            return  # an echo request seen on the way out (loopback): nobody's reply
        if parsed is None or (fam.raw and parsed.ident != self.ident):
            self.stats.foreign_ignored += 1
            return
        p = self._pending.get(parsed.seq & 0xFFFF)
        if p is None or p.sent_at is None:
            self.stats.foreign_ignored += 1
            return
        if parsed.reply:
            if parsed.seq != p.seq or _norm(source) != _norm(p.target):
                self.stats.foreign_ignored += 1
                return
            self.stats.received += 1
            assert self._loop is not None
            self._finish(p, ok=True, rtt=max(self._loop.time() - p.sent_mono, 0.0))
        elif parsed.quoted_dest is not None and _norm(parsed.quoted_dest) == _norm(p.target):
            self.stats.errors_received += 1
            self._finish(p, ok=False, error=f"{parsed.error} from {source}")
        else:
            self.stats.foreign_ignored += 1

    def _finish(
        self, p: _Pending, *, ok: bool, rtt: float | None = None, error: str | None = None
    ) -> None:
        if self._pending.get(p.seq & 0xFFFF) is p:
            del self._pending[p.seq & 0xFFFF]
        if not p.future.done():
            p.future.set_result(
                ProbeResult(
                    target=p.target, at=p.sent_at or self._wall(), ok=ok, rtt=rtt, error=error
                )
            )

    # -- timeouts ----------------------------------------------------------------------------
    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer:
            self._timer.cancel()
        self._timer = loop.call_at(self._heap[0][0], self._expire) if self._heap else None

    def _expire(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, seq, wire = heapq.heappop(heap)
            p = self._pending.get(wire)
            if p is not None and p.seq == seq:
                self.stats.timeouts += 1
                self._finish(p, ok=False, error="timeout")
        self._timer = None
        self._arm(loop)


def _norm(address: str) -> str:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(address.split("%")[0]))
    return address
