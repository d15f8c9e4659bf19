"""The engine's per-echo loops in C (_native.c) against its Python ones, over real sockets.

The fake-socket tests (test_icmp_engine.py) run the Python loops. Here both kinds get the same
bytes through the kernel: a UDP socket on loopback stands in for the ICMP socket (recvmmsg,
time-stamps and source addresses are the kernel's), and a second UDP socket sends what a
network might: our replies, replies from the wrong host, with a bad checksum or cut short,
ICMP errors, strangers. Each case must end the same way in C and in Python.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from monitor.probes.icmp import IcmpEngine
from monitor.probes.icmp_flight import Batch, Probe
from monitor.probes.icmp_packet import UNREACHABLE_V4
from monitor.probes.icmp_socket import enable_stamps
from tests.probes.crafting import icmp_error, ipv4, reply_to

try:
    from monitor.probes import _native
except ImportError:  # pragma: no cover - the build failed: test_the_c_loops_are_built says so
    _native = None  # type: ignore[assignment]

HERE, ELSEWHERE = "127.0.0.1", "127.0.0.2"
NOT_BUILT = (
    "monitor/probes/_native.c was not built: install gcc and the Python headers "
    "(Debian: build-essential python3-dev), then `pip install -e .` again"
)


def test_the_c_loops_are_built() -> None:
    """`make test` builds them (gcc and the headers are on every machine of ours): a failed
    build would only show as a slower daemon, so it fails here instead."""
    assert _native is not None, NOT_BUILT


class Wire:
    """The engine's "ICMP" sockets (UDP on loopback, kernel-stamped) and a peer to answer."""

    def __init__(self, *, raw: bool) -> None:
        self.raw = raw
        self.socks: list[socket.socket] = []
        self.mine: socket.socket | None = None

    def open(self, v6: bool) -> tuple[socket.socket, bool]:
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("::1" if v6 else HERE, 0))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # the replies all wait
        enable_stamps(sock)
        self.socks.append(sock)
        if not v6:
            self.mine = sock
        return sock, self.raw

    def send(self, packet: bytes, *, source: str = HERE) -> None:
        """``packet`` (an ICMP message, behind an IPv4 header for a raw socket) from
        ``source`` to the engine's IPv4 socket."""
        assert self.mine is not None
        if self.raw:
            packet = ipv4(packet, src=source, dst=HERE)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind((source, 0))
            peer.sendto(packet, self.mine.getsockname())

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


@pytest.fixture(params=["c", "python"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "c" and _native is None:
        pytest.fail(NOT_BUILT)
    return str(request.param)


@pytest.fixture(params=[True, False], ids=["raw", "dgram"])
def wire(request: pytest.FixtureRequest) -> Iterator[Wire]:
    w = Wire(raw=request.param)
    yield w
    w.close()


async def queued(
    wire: Wire, kind: str, targets: list[str], *, timeout: float = 0.5
) -> tuple[IcmpEngine, Batch, list[Probe]]:
    """An engine whose echoes are queued and marked sent but not put on the wire (a UDP
    socket cannot send them): the test's peer plays the network."""
    engine = IcmpEngine(ident=0x4242, opener=wire.open, native=kind == "c")
    await engine.start()
    assert engine.native is (kind == "c")
    batch = engine.submit(targets, timeout=timeout)
    assert engine._pump_handle is not None
    engine._pump_handle.cancel()
    engine._pump_handle = None
    probes = list(engine._queue)
    now = time.monotonic_ns()
    for p in probes:
        p.sent = now
    engine._queue.clear()
    engine._sent(probes)  # their deadlines, as a real send burst gets
    return engine, batch, probes


async def ended(batch: Batch) -> None:
    await asyncio.wait_for(asyncio.shield(batch.future), timeout=10)  # type: ignore[arg-type]


async def test_replies_are_matched_and_kernel_stamped(wire: Wire, kind: str) -> None:
    engine, batch, probes = await queued(wire, kind, [HERE] * 200)
    for p in probes:
        reply = reply_to(p.packet, ident=None if wire.raw else 0x1111)
        wire.send(reply)
    await ended(batch)
    assert all(r is not None and 0 <= r < 0.5 for r in batch.rtts)
    stats = engine.stats
    assert (stats.received, stats.kernel_stamped, stats.foreign_ignored) == (200, 200, 0)
    await engine.close()


def _tamper(wire: Wire) -> list[Callable[[Probe], None]]:
    """What the network sends for echo i, one way per echo."""

    def good(p: Probe) -> None:
        wire.send(reply_to(p.packet))

    def bad_checksum(p: Probe) -> None:
        r = reply_to(p.packet)
        wire.send(r[:2] + bytes([r[2] ^ 0xFF]) + r[3:])

    def wrong_host(p: Probe) -> None:
        wire.send(reply_to(p.packet), source=ELSEWHERE)

    def cut_short(p: Probe) -> None:
        wire.send(reply_to(p.packet)[:12])

    def unreachable(p: Probe) -> None:
        quoted = ipv4(p.packet, src=HERE, dst=p.addr)
        wire.send(icmp_error(UNREACHABLE_V4, 1, quoted), source="127.0.0.3")

    def other_token(p: Probe) -> None:
        r = reply_to(p.packet)
        wire.send(r[:-1] + bytes([r[-1] ^ 1]))  # checksum no longer agrees either

    def twice(p: Probe) -> None:
        good(p)
        good(p)

    def stranger(p: Probe) -> None:
        wire.send(struct.pack("!BBHHH", 0, 0, 0, 0x9999, p.wire) + b"x" * 16)
        good(p)

    return [good, bad_checksum, wrong_host, cut_short, unreachable, other_token, twice, stranger]


async def test_every_way_a_packet_can_fail_ends_the_same_in_c_and_in_python() -> None:
    outcomes = {}
    for kind in ("c", "python"):
        if kind == "c" and _native is None:
            pytest.fail(NOT_BUILT)
        wire = Wire(raw=True)
        try:
            ways = _tamper(wire)
            engine, batch, probes = await queued(wire, kind, [HERE] * len(ways))
            for way, p in zip(ways, probes, strict=True):
                way(p)
            await ended(batch)
            stats = engine.stats
            outcomes[kind] = (
                [r is not None for r in batch.rtts],
                batch.errors,
                (stats.received, stats.foreign_ignored, stats.timeouts, stats.errors_received),
            )
            await engine.close()
        finally:
            wire.close()
    ok, errors, counts = outcomes["c"]
    assert ok == [True, False, False, False, False, False, True, True]
    assert errors[4] == "unreachable: ICMP host unreachable from 127.0.0.3"
    assert errors[1] == errors[2] == errors[3] == errors[5] == "timeout"
    # received 3; ignored: bad checksum, wrong host, cut short, other token, the second
    # copy, the stranger; timed out 4; one ICMP error
    assert counts == (3, 6, 4, 1)
    assert outcomes["c"] == outcomes["python"]


async def test_a_reply_later_than_its_timeout_is_a_timeout(wire: Wire, kind: str) -> None:
    engine, batch, probes = await queued(wire, kind, [HERE] * 3, timeout=0.2)
    for p in probes:
        p.sent -= 1_000_000_000  # sent a second ago, as far as the engine knows
        wire.send(reply_to(p.packet, ident=None if wire.raw else 7))
    await ended(batch)
    assert batch.rtts == [None] * 3
    assert batch.errors == ["timeout"] * 3
    assert engine.stats.timeouts == 3
    await engine.close()


async def test_c_builds_the_bytes_python_builds(wire: Wire) -> None:
    """Each echo's request and expected reply, across the 32-bit sequence's wrap and with
    wire numbers still in flight skipped, for both families."""
    if _native is None:
        pytest.fail(NOT_BUILT)
    engine = IcmpEngine(ident=0xBEEF, opener=wire.open)
    await engine.start()
    engine._seq = 0xFFFFFFFF - 40
    first = engine.submit([HERE, "::1"] * 20, timeout=1)
    second = engine.submit(["::1", HERE] * 30, timeout=1)
    probes = list(engine._queue)
    assert len(probes) == 100 and len({p.wire for p in probes}) == 100
    for p in probes:
        assert type(p).__module__ == "monitor.probes._native"
        seq32 = int.from_bytes(p.packet[-4:], "big")
        assert (p.packet, p.expect) == p.fam.pair(seq32)
        assert p.wire == seq32 & 0xFFFF
        assert p.batch is (first if p.index < 40 and p.batch is first else second)
    engine._pump_handle.cancel()  # type: ignore[union-attr]
    engine._pump_handle = None
    await engine.close()
    assert first.errors == ["engine closed"] * 40


async def test_our_own_request_coming_back_is_not_its_reply(kind: str) -> None:
    """Where the comparison skips the leading bytes (datagram sockets, IPv6) the type must
    still be an echo reply: a request looped back carries every other byte of its reply."""
    wire = Wire(raw=False)
    try:
        engine, batch, probes = await queued(wire, kind, [HERE] * 2, timeout=0.3)
        wire.send(probes[0].packet)  # the request itself
        wire.send(reply_to(probes[1].packet)[:1] + b"\x01" + reply_to(probes[1].packet)[2:])
        await ended(batch)
        assert batch.errors == ["timeout", "timeout"]
        assert engine.stats.foreign_ignored == 2
        await engine.close()
    finally:
        wire.close()
