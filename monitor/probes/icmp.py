"""ICMP echo on one socket per address family: fping's design in asyncio.

Theory of operation. Every raw ICMP socket receives a copy of every ICMP packet the host
gets, so a socket per target costs N x N wake-ups for N targets; this engine opens one socket
per family (IPv6 only once an IPv6 target appears) and reads it from a reader callback that
drains it completely on every wake-up. The receive buffer is enlarged to 8 MiB because the
default ~208 KiB holds only ~256 replies. Each probe is a future in a dict keyed by its 16-bit
wire sequence and an entry on one deadline heap served by a single timer handle: no task and
no timer per probe.

Sends go out through a token bucket (``rate`` per second, ``burst`` at once) so a burst never
overflows a queue on the way (the peer's backlog, a neighbour queue, our receive buffer): the
loop drains replies between bursts. A send refused with EAGAIN/ENOBUFS is retried shortly; any
other refusal is an immediate loss whose error says why. A timeout is a result, never an
exception.

Matching (see icmp_packet): identifier (raw sockets only: the kernel rewrites it on datagram
sockets and delivers only our own replies there), wire sequence, payload token and source
address must all agree; everything else is counted in ``stats.foreign_ignored``.

Clocks: timeouts and RTTs use the loop's monotonic clock (seconds; an RTT includes the time
a reply waited in the socket while a burst was being sent, at most a few hundred µs). The
result's ``at`` is the send time from the injected wall clock, aware UTC.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import heapq
import ipaddress
import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.core.errors import InputError
from monitor.core.model import ProbeResult, require_aware
from monitor.probes.icmp_packet import TOKEN_LEN, echo_request, parse
from monitor.probes.icmp_socket import IcmpSocket, Opener, open_icmp_socket

__all__ = ["IcmpEngine", "IcmpSocket", "IcmpStats", "Opener", "open_icmp_socket"]

RATE = 50_000.0
"""Default send rate, echoes per second: 10,000 paths at 1 s use a fifth of it."""
BURST = 128
"""Default bucket size: echoes sent back to back before the loop drains replies again."""
RETRY_SEND_S = 0.001
"""Delay before retrying a send the kernel refused for lack of buffer space."""
_RETRY_ERRNOS = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class IcmpStats:
    """Counters since start: echoes sent, our replies received, packets ignored as not ours,
    probes timed out, sends refused (immediate losses), ICMP errors matched to our probes."""

    sent: int = 0
    received: int = 0
    foreign_ignored: int = 0
    timeouts: int = 0
    send_errors: int = 0
    errors_received: int = 0


@dataclass(slots=True)
class _Family:
    sock: IcmpSocket
    raw: bool
    v6: bool

    @property
    def has_ip_header(self) -> bool:
        return self.raw and not self.v6  # only IPv4 raw sockets hand us the IP header


@dataclass(slots=True, kw_only=True)
class _Probe:
    target: str  # as the caller gave it: the result's key
    addr: str  # canonical address, compared with the reply's source
    v6: bool
    seq: int  # 32-bit; the wire carries the low 16 bits
    packet: bytes  # the echo request; its last TOKEN_LEN bytes are the token
    timeout: float
    queued: float  # loop time when submitted
    at: datetime | None  # caller's send time, else the wall clock's at send
    future: asyncio.Future[ProbeResult]
    sent: float = 0.0  # loop time of the send


class IcmpEngine:
    """Echo probes to many targets over one socket per address family.

    ``wall`` gives aware UTC datetimes (the results' ``at``); ``ident`` the echo identifier
    (default: random); ``rate``/``burst`` pace sends; ``opener`` opens sockets (a seam).
    """

    def __init__(
        self,
        *,
        wall: Callable[[], datetime] = _utcnow,
        ident: int | None = None,
        rate: float = RATE,
        burst: int = BURST,
        opener: Opener = open_icmp_socket,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise InputError(f"ICMP pacing: rate must be > 0 and burst >= 1 (got {rate}, {burst})")
        self._wall, self._opener = wall, opener
        self.ident = int.from_bytes(os.urandom(2), "big") if ident is None else ident & 0xFFFF
        self._nonce = os.urandom(4)
        self._rate, self._burst = rate, burst
        self._tokens, self._refilled = float(burst), 0.0
        self._families: dict[bool, _Family] = {}
        self._pending: dict[int, _Probe] = {}  # by 16-bit wire sequence
        self._heap: list[tuple[float, int, _Probe]] = []  # (deadline, seq, probe)
        self._timer: asyncio.TimerHandle | None = None
        self._queue: deque[_Probe] = deque()
        self._pump_handle: asyncio.Handle | None = None
        self._seq = int.from_bytes(os.urandom(4), "big")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._counts = dict.fromkeys(IcmpStats.__dataclass_fields__, 0)

    @property
    def stats(self) -> IcmpStats:
        """A snapshot of the counters."""
        return IcmpStats(**self._counts)

    @property
    def mode(self) -> str:
        """``"raw"`` or ``"dgram"``: the kind of the IPv4 socket (after ``start``)."""
        fam = self._families.get(False)
        return "unopened" if fam is None else "raw" if fam.raw else "dgram"

    async def start(self) -> None:
        """Open the IPv4 socket (IPv6 opens on first use); ProbeSetupError if impossible."""
        self._loop = asyncio.get_running_loop()
        self._refilled = self._loop.time()
        self._family(False)

    async def close(self) -> None:
        """Close the sockets; probes still in flight end with ok=False, "engine closed"."""
        self._closed = True
        for handle in (self._timer, self._pump_handle):
            if handle is not None:
                handle.cancel()
        for fam in self._families.values():
            if self._loop is not None:
                self._loop.remove_reader(fam.sock.fileno())
            fam.sock.close()
        self._families.clear()
        self._queue.clear()
        for p in list(self._pending.values()):
            self._finish(p, ok=False, error="engine closed")

    async def __aenter__(self) -> IcmpEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _family(self, v6: bool) -> _Family:
        fam = self._families.get(v6)
        if fam is None:
            assert self._loop is not None, "IcmpEngine.start() first"
            sock, raw = self._opener(v6)
            fam = self._families[v6] = _Family(sock=sock, raw=raw, v6=v6)
            self._loop.add_reader(sock.fileno(), self._drain, fam)
        return fam

    # -- probing -------------------------------------------------------------------------------
    async def probe(
        self, target: str, *, timeout: float, at: datetime | None = None
    ) -> ProbeResult:
        """One echo to ``target`` (an IP address string); waits at most ``timeout`` seconds
        after the send. ``at`` (aware) overrides the result's send time, e.g. with the
        scheduler's tick; default: the wall clock at the send."""
        return await self._submit(target, timeout, at)

    async def probe_many(self, targets: Iterable[str], *, timeout: float) -> list[ProbeResult]:
        """One echo to each target, all in flight at once; results in the targets' order."""
        futures = [self._submit(t, timeout, None) for t in targets]
        return [await f for f in futures]

    async def burst(
        self, target: str, *, count: int = 3, spacing: float = 0.2, timeout: float
    ) -> list[ProbeResult]:
        """``count`` echoes ``spacing`` seconds apart (to confirm a suspected cut quickly);
        returns when the last one is answered or timed out."""
        futures = []
        for i in range(count):
            if i:
                await asyncio.sleep(spacing)
            futures.append(self._submit(target, timeout, None))
        return [await f for f in futures]

    def _submit(
        self, target: str, timeout: float, at: datetime | None
    ) -> asyncio.Future[ProbeResult]:
        loop = self._loop
        if loop is None or self._closed:
            raise RuntimeError("IcmpEngine: call start() first, and not after close()")
        addr, v6 = _address(target)
        if timeout <= 0:
            raise InputError(f"ICMP timeout must be > 0 seconds (got {timeout})")
        if at is not None:
            at = require_aware(at, "probe time").astimezone(UTC)
        self._family(v6)  # open the IPv6 socket on first use; raises ProbeSetupError
        if len(self._pending) > 0xFFFF:  # every 16-bit wire sequence is in flight
            self._counts["send_errors"] += 1
            future = loop.create_future()
            error = "not sent: 65,536 echoes in flight already (lower the rate or the timeout)"
            future.set_result(
                ProbeResult(target=target, at=at or self._wall(), ok=False, error=error)
            )
            return future
        seq = self._next_seq()
        p = _Probe(
            target=target,
            addr=addr,
            v6=v6,
            seq=seq,
            packet=echo_request(self.ident, seq, self._nonce, v6=v6),
            timeout=timeout,
            queued=loop.time(),
            at=at,
            future=loop.create_future(),
        )
        self._pending[seq & 0xFFFF] = p
        self._queue.append(p)
        if self._pump_handle is None:
            self._pump_handle = loop.call_soon(self._pump)
        return p.future

    def _next_seq(self) -> int:
        seq = (self._seq + 1) & 0xFFFFFFFF
        while (seq & 0xFFFF) in self._pending:  # skip wire numbers still in flight
            seq = (seq + 1) & 0xFFFFFFFF
        self._seq = seq
        return seq

    def _pump(self) -> None:
        """Send as many queued echoes as the bucket allows; come back when it refills."""
        loop = self._loop
        assert loop is not None
        self._pump_handle = None
        now = loop.time()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        queue = self._queue
        while queue and self._tokens >= 1:
            if not self._send(queue[0], now):
                self._pump_handle = loop.call_later(RETRY_SEND_S, self._pump)
                return
            queue.popleft()
            self._tokens -= 1
        if queue:
            self._pump_handle = loop.call_later((1 - self._tokens) / self._rate, self._pump)

    def _send(self, p: _Probe, now: float) -> bool:
        """Send one echo; False when the kernel asks us to try again later."""
        if now - p.queued > p.timeout:  # stuck behind a full buffer for a whole timeout
            self._counts["send_errors"] += 1
            self._finish(p, ok=False, error="send: no buffer space for a whole timeout")
            return True
        fam = self._families[p.v6]
        if p.at is None:
            p.at = self._wall()
        assert self._loop is not None
        try:
            p.sent = self._loop.time()
            fam.sock.sendto(p.packet, (p.target, 0))
        except OSError as exc:
            if exc.errno in _RETRY_ERRNOS:
                return False
            self._counts["send_errors"] += 1
            self._finish(p, ok=False, error=f"send: {exc}")
            return True
        self._counts["sent"] += 1
        deadline = p.sent + p.timeout
        heapq.heappush(self._heap, (deadline, p.seq, p))
        if self._timer is None or self._timer.when() > deadline:
            self._arm()
        return True

    # -- receiving -----------------------------------------------------------------------------
    def _drain(self, fam: _Family) -> None:
        """Read every queued packet, not just one, on each wake-up."""
        recvfrom = fam.sock.recvfrom
        while True:
            try:
                packet, source = recvfrom(4096)
            except OSError:  # EAGAIN: drained; anything else: nothing more to read now
                return
            self._on_packet(fam, packet, source[0])

    def _on_packet(self, fam: _Family, packet: bytes, source: str) -> None:
        parsed = parse(packet, v6=fam.v6, has_ip_header=fam.has_ip_header)
        p = None if parsed is None else self._pending.get(parsed.seq)
        if (
            parsed is None
            or p is None
            or p.v6 != fam.v6
            or (fam.raw and parsed.ident != self.ident)
            or (parsed.token is not None and parsed.token != p.packet[-TOKEN_LEN:])
        ):
            self._counts["foreign_ignored"] += 1
            return
        if parsed.reply and _same_host(source, p.addr):
            self._counts["received"] += 1
            assert self._loop is not None
            self._finish(p, ok=True, rtt=max(self._loop.time() - p.sent, 0.0))
        elif (
            not parsed.reply
            and parsed.quoted_dest is not None
            and (_same_host(parsed.quoted_dest, p.addr))
        ):
            self._counts["errors_received"] += 1
            self._finish(p, ok=False, error=f"{parsed.error} from {source}")
        else:
            self._counts["foreign_ignored"] += 1

    def _finish(
        self, p: _Probe, *, ok: bool, rtt: float | None = None, error: str | None = None
    ) -> None:
        wire = p.seq & 0xFFFF
        if self._pending.get(wire) is p:
            del self._pending[wire]
        if not p.future.done():
            at = p.at if p.at is not None else self._wall()
            p.future.set_result(ProbeResult(target=p.target, at=at, ok=ok, rtt=rtt, error=error))

    # -- timeouts ------------------------------------------------------------------------------
    def _arm(self) -> None:
        """Point the single timer at the earliest deadline (or at nothing)."""
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._heap[0][0], self._expire) if self._heap else None

    def _expire(self) -> None:
        assert self._loop is not None
        now, heap = self._loop.time(), self._heap
        # Answered probes stay on the heap; drop those at the head too, so the timer next
        # fires for a probe that can still time out.
        while heap and (heap[0][0] <= now or heap[0][2].future.done()):
            p = heapq.heappop(heap)[2]
            if not p.future.done():
                self._counts["timeouts"] += 1
                self._finish(p, ok=False, error="timeout")
        self._timer = None
        self._arm()


@functools.lru_cache(maxsize=65536)
def _address(target: str) -> tuple[str, bool]:
    """(canonical address, is IPv6) of a target; cached: the daemon probes the same few
    thousand addresses again and again, and parsing costs more than the rest of a probe."""
    try:
        ip = ipaddress.ip_address(target)
    except ValueError:
        raise InputError(f"ICMP target {target!r} is not an IP address") from None
    return _canon(target), ip.version == 6


def _canon(address: str) -> str:
    """The address as the kernel writes a source address (no IPv6 scope)."""
    return str(ipaddress.ip_address(address.split("%", 1)[0]))


def _same_host(source: str, addr: str) -> bool:
    # IPv4 sources come as dotted quads already; IPv6 text may differ in form or carry a scope.
    return source == addr or (":" in source and _canon(source) == addr)
