"""ICMP echo on one socket per address family: fping's design on an event loop.

Theory of operation. Every raw ICMP socket receives a copy of every ICMP packet the host
gets, so a socket per target costs N x N wake-ups for N targets; this engine opens one socket
per family (IPv6 only once an IPv6 target appears) and reads it from a reader callback that
drains it completely on every wake-up. The receive buffer is enlarged to 8 MiB because the
default ~208 KiB holds only ~256 replies. The loop is the daemon's asyncio loop (``start``), or
for ``slawatch ping`` the small ``icmp_loop.SelectorLoop`` (``start_on``, ``submit``): the
engine asks of either only what ``icmp_loop.Reactor`` names.

Per probe the engine does O(1) work and schedules nothing. A call (``probe_many``, ``probe``,
``rtts``) is one batch with one future, done when its last echo ends; the batch keeps RTTs and
errors in plain lists and makes ProbeResults only when asked. An echo in flight sits in a table
indexed by its 16-bit wire sequence; with the request the engine builds the exact bytes the
reply must carry (``Echoes.pair``), so matching a reply is one index and one comparison of
identifier, sequence and payload token (on IPv4 raw sockets the checksum too: the kernel does
not check it there, so this comparison is its one check); the source address must agree as
well. What does not match takes the slow path (``icmp_packet.parse``): ICMP errors about our
echoes, and strangers, counted in ``stats.foreign_ignored``. Deadlines are kept per send
burst, not per echo: a burst's echoes share one (the burst's end plus the batch's timeout) on
a heap served by a single timer handle.

Sends go out through a token bucket (``rate`` per second, ``burst`` at once) so a burst never
overflows a queue on the way (the peer's backlog, a neighbour queue, our receive buffer): the
loop drains replies between bursts, and the pump comes back when a whole burst's tokens are
there (not for every token). A send refused with EAGAIN/ENOBUFS is retried shortly, and only
once the kernel has refused sends for a whole timeout are queued echoes given up as losses; an
echo that waited in the queue because the loop was busy is sent late, never counted lost (its
result's ``at`` is when it really went out). Any other refusal is an immediate loss whose
error says why. A timeout is a result, never an exception.

C. Where the install could build it (gcc and the Python headers), ``_native.c`` runs the three
per-echo loops: queueing a batch's echoes (``enqueue``: their bytes and a ``Probe`` each), a
send burst (``send``) and a drain (``drain``: recvmmsg, 64 packets a call, and the fast path
of the matching). They do exactly what the Python loops here do (tests/probes/
test_icmp_native.py holds them to it); whatever the fast path does not take, and every error,
is still handled here. ``native=False``, a fake socket, or no build: the Python loops.

Clocks. The send time is read from the loop's clock (``time.monotonic_ns``) right before
``sendto``. The receive time is the kernel's time-stamp of the reply's arrival (SO_TIMESTAMPNS,
see icmp_socket), moved onto the loop's clock by the offset between the two clocks measured at
each wake-up; where the kernel gives none, the loop's clock when the reply is read. So an RTT
does not include the time a reply waits in the socket while the loop is busy. A reply whose RTT
exceeds the timeout is a timeout, however soon it was read. The result's ``at`` is the send
time from the injected wall clock (aware UTC), read once per send burst.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import os
import socket
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, cast

from monitor.clock import Wall, utcnow
from monitor.core.errors import InputError
from monitor.probes.icmp_flight import Batch, Family, Probe, address
from monitor.probes.icmp_loop import Cancellable, Reactor, Timer
from monitor.probes.icmp_packet import Echoes
from monitor.probes.icmp_receive import NATIVE, Receiving, grain
from monitor.probes.icmp_socket import IcmpSocket, Opener, open_icmp_socket

if TYPE_CHECKING:
    import asyncio

    from monitor.core.model import ProbeResult

__all__ = ["IcmpEngine", "IcmpSocket", "IcmpStats", "Opener", "open_icmp_socket"]

RATE = 50_000.0
"""Default send rate, echoes per second: 10,000 paths at 1 s use a fifth of it."""
BURST = 128
"""Default bucket size: echoes sent back to back before the loop drains replies again."""
RETRY_SEND_S = 0.001
"""Delay before retrying a send the kernel refused for lack of buffer space."""
_RETRY_ERRNOS = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})
_WIRE = 65536


class IcmpStats(NamedTuple):
    """Counters since start: echoes sent, our replies received (``kernel_stamped`` of them
    timed by the kernel's receive time-stamp), packets ignored as not ours, probes timed out,
    sends refused (immediate losses), ICMP errors matched to our probes. (A named tuple, not a
    frozen dataclass: ``slawatch ping`` loads no dataclass module at all, ~0.02 s of start-up.)"""

    sent: int = 0
    received: int = 0
    kernel_stamped: int = 0
    foreign_ignored: int = 0
    timeouts: int = 0
    send_errors: int = 0
    errors_received: int = 0


class IcmpEngine(Receiving):
    """Echo probes to many targets over one socket per address family.

    ``wall`` gives aware UTC datetimes (the results' ``at``); ``ident`` the echo identifier
    (default: random); ``rate``/``burst`` pace sends; ``opener`` opens sockets (a seam);
    ``native`` False keeps the per-echo loops in Python even where the C ones were built.
    """

    def __init__(
        self,
        *,
        wall: Wall = utcnow,
        ident: int | None = None,
        rate: float = RATE,
        burst: int = BURST,
        opener: Opener = open_icmp_socket,
        native: bool = True,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise InputError(f"ICMP pacing: rate must be > 0 and burst >= 1 (got {rate}, {burst})")
        self._wall, self._opener = wall, opener
        self.ident = int.from_bytes(os.urandom(2), "big") if ident is None else ident & 0xFFFF
        self._nonce = os.urandom(4)
        self._rate, self._burst = rate, burst
        self._tokens, self._refilled = float(burst), 0.0
        self._families: dict[bool, Family] = {}
        self._slots: list[Probe | None] = [None] * _WIRE  # in flight, by wire sequence
        self._inflight = 0
        self._expiry: list[tuple[float, int, list[Probe]]] = []  # (deadline, n, burst)
        self._order = itertools.count()
        self._timer: Timer | None = None
        self._queue: deque[Probe] = deque()
        self._pump_handle: Cancellable | None = None
        self._refused_since: float | None = None  # loop time the kernel began refusing sends
        self._seq = int.from_bytes(os.urandom(4), "big")
        self._loop: Reactor | None = None
        self._want_native = native and NATIVE is not None
        self._native = False  # True once every socket is a real one (and NATIVE was built)
        self._closed = False
        self._counts = dict.fromkeys(IcmpStats._fields, 0)

    @property
    def stats(self) -> IcmpStats:
        """A snapshot of the counters."""
        return IcmpStats(**self._counts)

    @property
    def mode(self) -> str:
        """``"raw"`` or ``"dgram"``: the kind of the IPv4 socket (after ``start``)."""
        fam = self._families.get(False)
        return "unopened" if fam is None else "raw" if fam.raw else "dgram"

    @property
    def native(self) -> bool:
        """Whether the per-echo loops run in C (built, wanted, and on real sockets)."""
        return self._native

    async def start(self) -> None:
        """Open the IPv4 socket (IPv6 opens on first use) on the running asyncio loop;
        ProbeSetupError if impossible."""
        import asyncio  # here, not at the top: slawatch ping runs without it (icmp_loop)

        self.start_on(asyncio.get_running_loop())

    def start_on(self, loop: Reactor) -> None:
        """As ``start``, on ``loop``: for a caller that runs its own (icmp_loop.SelectorLoop),
        which then probes with ``submit`` (the coroutine methods need an asyncio loop)."""
        self._loop = loop
        self._refilled = loop.time()
        self._family(False)

    async def close(self) -> None:
        """Close the sockets; probes still in flight end with ok=False, "engine closed"."""
        self.stop()

    def stop(self) -> None:
        """``close``, for a caller that runs its own loop."""
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
        self._expiry.clear()  # the sent bursts' echoes, each ended by now or just below
        for p in self._slots:
            if p is not None:
                self._fail(p, "engine closed")

    async def __aenter__(self) -> IcmpEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _family(self, v6: bool) -> Family:
        fam = self._families.get(v6)
        if fam is None:
            assert self._loop is not None, "IcmpEngine.start() first"
            sock, raw = self._opener(v6)
            echoes = Echoes(self.ident, self._nonce, v6=v6)
            fam = self._families[v6] = Family(sock, raw, v6, echoes)
            real = all(isinstance(f.sock, socket.socket) for f in self._families.values())
            self._native = self._want_native and real
            self._loop.add_reader(sock.fileno(), self._drain, fam)
        return fam

    # -- probing -------------------------------------------------------------------------------
    async def probe(
        self, target: str, *, timeout: float, at: datetime | None = None
    ) -> ProbeResult:
        """One echo to ``target`` (an IP address string); waits at most ``timeout`` seconds
        after the send. ``at`` (aware) overrides the result's send time, e.g. with the
        scheduler's tick; default: the wall clock at the send."""
        if at is not None:
            from monitor.core.model import require_aware  # not at the top: see IcmpStats

            at = require_aware(at, "probe time").astimezone(UTC)
        batch = self._submit([target], timeout, at)
        await _waited(batch)
        return batch.results()[0]

    async def probe_many(self, targets: Iterable[str], *, timeout: float) -> list[ProbeResult]:
        """One echo to each target, all in flight at once; results in the targets' order."""
        batch = self._submit(list(targets), timeout, None)
        await _waited(batch)
        return batch.results()

    async def outcomes(
        self, targets: list[str], *, timeout: float
    ) -> tuple[list[datetime], list[float | None], list[str | None]]:
        """As ``probe_many``, by position and without a ProbeResult each (the daemon's
        scheduler, 10,000 a second): (send times, RTTs in seconds or None, errors)."""
        batch = self._submit(targets, timeout, None)
        await _waited(batch)
        return cast(list[datetime], batch.ats), batch.rtts, batch.errors

    async def rtts(self, targets: Iterable[str], *, timeout: float) -> list[float | None]:
        """As ``probe_many``, but only each echo's RTT in seconds, None for a loss (why is not
        kept): for ``slawatch ping``, where making a ProbeResult per echo would cost more
        than matching its reply."""
        batch = self._submit(list(targets), timeout, None)
        await _waited(batch)
        return batch.rtts

    async def burst(
        self, target: str, *, count: int = 3, spacing: float = 0.2, timeout: float
    ) -> list[ProbeResult]:
        """``count`` echoes ``spacing`` seconds apart (to confirm a suspected cut quickly);
        returns when the last one is answered or timed out."""
        import asyncio

        batches = []
        for i in range(count):
            if i:
                await asyncio.sleep(spacing)
            batches.append(self._submit([target], timeout, None))
            # let the pump (call_soon) send it first: the spacing runs from the send, so a
            # loop that ran the pump late cannot bring the next echo closer on the wire
            await asyncio.sleep(0)
        await asyncio.gather(*(_waited(b) for b in batches))
        return [b.results()[0] for b in batches]

    def submit(self, targets: list[str], *, timeout: float) -> Batch:
        """As ``rtts``, for a caller that runs its own loop (``start_on``): the batch's
        ``left`` is 0 once every echo has ended, and its ``rtts`` are then final."""
        return self._submit(targets, timeout, None)

    def _submit(self, targets: list[str], timeout: float, at: datetime | None) -> Batch:
        """Queue one echo per target as one batch (every target checked before any is)."""
        loop = self._loop
        if loop is None or self._closed:
            raise RuntimeError("IcmpEngine: call start() first, and not after close()")
        if timeout <= 0:
            raise InputError(f"ICMP timeout must be > 0 seconds (got {timeout})")
        resolved = [address(t) for t in targets]
        families = {v6: self._family(v6) for v6 in {r[1] for r in resolved}}
        batch = Batch(targets, loop.create_future(), timeout=timeout, at=at)
        n = min(len(targets), _WIRE - self._inflight)
        for index in range(n, len(targets)):  # every 16-bit wire sequence is in flight
            self._counts["send_errors"] += 1
            error = "not sent: 65,536 echoes in flight already (lower the rate or the timeout)"
            self._end(batch, index, error)
        if self._native:
            fams = self._families.get(False), self._families.get(True)
            params = tuple(None if f is None else f.params for f in fams)
            queue, slots = self._queue, self._slots
            seq = NATIVE.enqueue(resolved, fams, params, slots, queue, batch, self._seq, n)
        else:
            seq = self._enqueue(resolved, families, batch, n)
        self._seq = seq
        self._inflight += n
        if n and self._pump_handle is None:
            self._pump_handle = loop.call_soon(self._pump)
        if not targets:
            batch.future.set_result(None)
        return batch

    def _enqueue(
        self,
        resolved: list[tuple[str, bool, tuple[str, int], bytes]],
        families: dict[bool, Family],
        batch: Batch,
        n: int,
    ) -> int:
        """Queue a Probe for each of the first ``n`` targets, each on the next free wire
        sequence; the last sequence used. (_native.enqueue does exactly this, in C.)"""
        seq, slots, append = self._seq, self._slots, self._queue.append
        for index in range(n):
            addr, v6, dest, sockaddr = resolved[index]
            fam = families[v6]
            seq = (seq + 1) & 0xFFFFFFFF
            while slots[seq & 0xFFFF] is not None:  # skip wire numbers still in flight
                seq = (seq + 1) & 0xFFFFFFFF
            wire = seq & 0xFFFF
            request, expect = fam.pair(seq)
            p = slots[wire] = Probe(addr, dest, sockaddr, fam, wire, request, expect, batch, index)
            append(p)
        return seq

    def _pump(self) -> None:
        """Send as many queued echoes as the bucket allows; come back when it refills."""
        loop = self._loop
        assert loop is not None
        self._pump_handle = None
        now = loop.time()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        n = min(int(self._tokens), len(self._queue))
        done, retry = self._send(n, now) if n else (0, False)
        self._tokens -= done
        if retry:
            self._pump_handle = loop.call_later(RETRY_SEND_S, self._pump)
        elif self._queue:  # come back for a whole burst, not for every token (a wake-up each)
            want = min(self._burst, len(self._queue))
            self._pump_handle = loop.call_later((want - self._tokens) / self._rate, self._pump)

    def _send(self, n: int, now: float) -> tuple[int, bool]:
        """Send up to ``n`` queued echoes as one burst, each timed right before its
        ``sendto``: (echoes taken off the queue, whether the kernel asked to retry later)."""
        queue, sent, left = self._queue, [], n
        wall = self._wall()
        while left:
            got, exc = self._send_some(left, wall)
            sent += got
            left -= len(got)
            if exc is None:
                break
            p = queue.popleft()  # the refused echo, left at the head
            left -= 1
            if exc.errno not in _RETRY_ERRNOS:
                self._refuse(p, f"send: {exc}")
                continue
            if sent or self._refused_since is None:
                self._refused_since = now
            if now - self._refused_since > p.batch.timeout:
                self._refuse(p, "send: no buffer space for a whole timeout")
                continue
            queue.appendleft(p)
            self._sent(sent)
            return n - left - 1, True
        if sent:
            self._refused_since = None
        self._sent(sent)
        return n, False

    def _send_some(self, n: int, wall: datetime) -> tuple[list[Probe], OSError | None]:
        """Send up to ``n`` echoes off the queue's head, in order: (those sent, the error of
        the first refused, which stays at the head with its ``sent`` time set). In C where
        it was built (_native.send does exactly this), else here."""
        queue = self._queue
        if self._native:
            fds = self._families.get(False), self._families.get(True)
            fd4, fd6 = (-1 if f is None else f.fd for f in fds)
            return NATIVE.send(queue, n, fd4, fd6, wall)
        clock, sent = time.monotonic_ns, list[Probe]()
        for _ in range(n):
            p = queue[0]
            try:
                p.sent = clock()
                p.fam.sendto(p.packet, p.dest)
            except OSError as exc:
                return sent, exc
            queue.popleft()
            b = p.batch
            if b.at is None:
                b.ats[p.index] = wall
            sent.append(p)
        return sent, None

    def _refuse(self, p: Probe, error: str) -> None:
        self._counts["send_errors"] += 1
        self._fail(p, error)

    def _sent(self, sent: list[Probe]) -> None:
        """Count a burst and give it deadlines: one per batch in it, the burst's end plus the
        batch's timeout."""
        if not sent:
            return
        assert self._loop is not None
        self._counts["sent"] += len(sent)
        end, heap = self._loop.time(), self._expiry
        # A batch's echoes are queued together and sent in order, so a burst is a run of
        # batches (or parts of them): if its first and last echoes share one, all do.
        if sent[0].batch is sent[-1].batch:  # the usual burst: one deadline, no walk
            heapq.heappush(heap, (end + sent[0].batch.timeout, next(self._order), sent))
        else:
            start = 0
            for i in range(1, len(sent) + 1):
                if i == len(sent) or sent[i].batch is not sent[start].batch:
                    deadline = end + sent[start].batch.timeout
                    heapq.heappush(heap, (deadline, next(self._order), sent[start:i]))
                    start = i
        if self._timer is None or self._timer.when() > grain(heap[0][0]):
            self._arm()


async def _waited(batch: Batch) -> None:
    """Until every echo of ``batch`` has ended (its waiter is an asyncio future: ``start``)."""
    await cast("asyncio.Future[None]", batch.future)
