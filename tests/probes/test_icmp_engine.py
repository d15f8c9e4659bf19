"""The engine's matching, timeouts, pacing and send errors, over a scripted fake socket.

The fake stands in for the kernel (no privileges needed): the test decides what comes back
for each echo sent, byte for byte, so every way a packet can fail to be ours is exercised.
Real sockets are in test_icmp_live.py and test_icmp_netns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.core.errors import InputError, ProbeSetupError
from monitor.probes.icmp import IcmpEngine
from monitor.probes.icmp_packet import HEADER, UNREACHABLE_V4, echo_request
from tests.probes.crafting import icmp_error, ipv4, reply_to, with_checksum

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
TARGET, US = "198.18.2.2", "198.18.1.1"


class FakeSocket:
    """A socket whose wire is the test: ``sent`` records echoes, ``deliver`` queues packets
    for the engine to read, ``refuse`` makes the next sends fail, ``on_send`` answers."""

    def __init__(self, *, raw: bool, v6: bool) -> None:
        self.raw, self.v6 = raw, v6
        self._r, self._w = socket.socketpair()  # readiness for the event loop
        self._r.setblocking(False)
        self.inbox: deque[tuple[bytes, tuple[str, int], list[tuple[int, int, bytes]]]] = deque()
        self.sent: list[tuple[bytes, str, float]] = []
        self.refuse: deque[OSError] = deque()
        self.on_send: Callable[[FakeSocket, bytes, str], None] | None = None
        self.closed = False

    def fileno(self) -> int:
        return self._r.fileno()

    def sendto(self, data: bytes, address: tuple[str, int], /) -> int:
        if self.refuse:
            raise self.refuse.popleft()
        self.sent.append((data, address[0], asyncio.get_running_loop().time()))
        if self.on_send:
            self.on_send(self, data, address[0])
        return len(data)

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str, int]]:
        if not self.inbox:
            with contextlib.suppress(BlockingIOError):
                self._r.recv(1)  # readable again once something is delivered
            raise BlockingIOError(errno.EAGAIN, "empty")
        packet, source, ancillary = self.inbox.popleft()
        return packet, ancillary, 0, source

    def deliver(self, icmp: bytes, source: str, *, stamp_ns: int | None = None) -> None:
        """Queue an ICMP message from ``source`` as this socket kind would deliver it, with
        a kernel receive time-stamp (ns since the epoch, SO_TIMESTAMPNS_NEW) if given."""
        packet = ipv4(icmp, src=source, dst=US) if self.raw and not self.v6 else icmp
        ancillary = []
        if stamp_ns is not None:
            stamp = struct.pack("=qq", *divmod(stamp_ns, 1_000_000_000))
            ancillary.append((socket.SOL_SOCKET, 64, stamp))
        if not self.inbox:
            self._w.send(b"x")
        self.inbox.append((packet, (source, 0), ancillary))

    def close(self) -> None:
        self.closed = True
        self._r.close()
        self._w.close()


def answer(sock: FakeSocket, data: bytes, dest: str) -> None:
    """A host that answers every echo."""
    sock.deliver(reply_to(data, v6=sock.v6), dest)


class Net:
    """Opens fake sockets for an engine and remembers them by family."""

    def __init__(self, *, raw: bool = True, on_send: Callable[..., None] | None = answer) -> None:
        self.raw, self.on_send = raw, on_send
        self.sockets: dict[bool, FakeSocket] = {}

    def open(self, v6: bool) -> tuple[FakeSocket, bool]:
        sock = self.sockets[v6] = FakeSocket(raw=self.raw, v6=v6)
        sock.on_send = self.on_send
        return sock, self.raw


def engine(net: Net, **kw: object) -> IcmpEngine:
    return IcmpEngine(wall=lambda: T0, ident=0x4242, opener=net.open, **kw)  # type: ignore[arg-type]


async def test_a_reply_is_matched_with_rtt_and_send_time() -> None:
    net = Net()
    async with engine(net) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert result.ok and result.error is None and result.target == TARGET
    assert result.at == T0  # from the injected wall clock
    assert result.rtt is not None and 0 <= result.rtt < 0.5
    assert e.stats.sent == 1 and e.stats.received == 1 and e.stats.foreign_ignored == 0
    assert net.sockets[False].closed  # close() closed the socket


async def test_the_rtt_ends_at_the_kernels_receive_stamp_not_when_the_loop_reads() -> None:
    """The reply is read at once, but the kernel says it arrived 5 ms after the send: the RTT
    is those 5 ms (and the loop's own clock would have said ~0)."""

    def stamped_5ms_late(sock: FakeSocket, data: bytes, dest: str) -> None:
        sock.deliver(reply_to(data), dest, stamp_ns=time.time_ns() + 5_000_000)

    async with engine(Net(on_send=stamped_5ms_late)) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert result.ok and result.rtt is not None
    assert 0.005 <= result.rtt < 0.006
    assert e.stats.received == 1 and e.stats.kernel_stamped == 1


async def test_a_reply_the_loop_reads_late_keeps_the_kernels_rtt() -> None:
    """The loop is busy for 100 ms while the reply waits in the socket; the kernel stamped it
    1 ms after the send: event-loop delay is not counted in the RTT."""

    def stamped_1ms(sock: FakeSocket, data: bytes, dest: str) -> None:
        stamp = time.time_ns() + 1_000_000
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: sock.deliver(reply_to(data), dest, stamp_ns=stamp))
        loop.call_soon(time.sleep, 0.1)  # the loop, blocked (the reply waits meanwhile)

    async with engine(Net(on_send=stamped_1ms)) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert result.rtt is not None and 0.001 <= result.rtt < 0.01
    assert e.stats.kernel_stamped == 1


async def test_without_a_kernel_stamp_the_loop_clock_times_the_reply() -> None:
    """The fake's replies carry no ancillary data (a kernel without SO_TIMESTAMPNS): the RTT
    runs to when the loop read the reply, blocked here for 50 ms first."""

    def unstamped_after_a_busy_loop(sock: FakeSocket, data: bytes, dest: str) -> None:
        sock.deliver(reply_to(data), dest)
        asyncio.get_running_loop().call_soon(time.sleep, 0.05)

    async with engine(Net(on_send=unstamped_after_a_busy_loop)) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert result.ok and result.rtt is not None and result.rtt >= 0.05
    assert e.stats.received == 1 and e.stats.kernel_stamped == 0


async def test_a_reply_stamped_after_the_timeout_is_a_timeout_however_soon_it_is_read() -> None:
    def stamped_too_late(sock: FakeSocket, data: bytes, dest: str) -> None:
        sock.deliver(reply_to(data), dest, stamp_ns=time.time_ns() + 300_000_000)

    async with engine(Net(on_send=stamped_too_late)) as e:
        result = await e.probe(TARGET, timeout=0.2)
    assert not result.ok and result.error == "timeout" and result.rtt is None
    assert e.stats.timeouts == 1 and e.stats.received == 0


async def test_a_reply_that_arrived_in_time_is_not_timed_out_by_a_late_loop() -> None:
    """The loop is busy past the deadline; the reply (stamped 10 ms after the send) reaches
    the socket just before the deadline's timer runs, with no wake-up in between to read it:
    the engine reads the socket before it times anything out."""
    sent = asyncio.Event()
    net = Net(on_send=lambda sock, data, dest: sent.set())
    async with engine(net) as e:
        loop = asyncio.get_running_loop()
        pending = asyncio.ensure_future(e.probe(TARGET, timeout=0.1))
        await sent.wait()
        sock, data = net.sockets[False], net.sockets[False].sent[0][0]
        stamp = time.time_ns() + 10_000_000
        loop.call_soon(time.sleep, 0.2)
        loop.call_later(0.05, lambda: sock.deliver(reply_to(data), TARGET, stamp_ns=stamp))
        result = await pending
    assert result.ok and result.rtt is not None and 0.01 <= result.rtt < 0.1


async def test_everything_that_is_not_our_reply_is_ignored() -> None:
    def strangers_then_us(sock: FakeSocket, data: bytes, dest: str) -> None:
        ours = reply_to(data)
        _, _, _, ident, seq = HEADER.unpack_from(data)
        other_engine = echo_request(ident, int.from_bytes(data[-4:], "big"), b"XXXX")
        older_probe = echo_request(ident, int.from_bytes(data[-4:], "big") - 65536, data[-8:-4])
        for icmp, source in (
            (reply_to(data, ident=ident ^ 1), dest),  # another process's ping
            (reply_to(echo_request(ident, seq + 1, data[-8:-4])), dest),  # a seq not in flight
            (ours, "198.18.2.6"),  # the right echo from the wrong host
            (ours[:-1] + bytes([ours[-1] ^ 1]), dest),  # corrupt: checksum fails
            (with_checksum(ours[:12]), dest),  # truncated payload
            (reply_to(other_engine), dest),  # same ident and seq, other engine's nonce
            (reply_to(older_probe), dest),  # same wire seq, 65,536 probes older
            (ours[:4], dest),  # not even a header
        ):
            sock.deliver(icmp, source)
        sock.deliver(ours, dest)

    async with engine(Net(on_send=strangers_then_us)) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert result.ok
    assert e.stats.foreign_ignored == 8 and e.stats.received == 1


async def test_no_reply_is_a_timeout_result_not_an_exception() -> None:
    async with engine(Net(on_send=None)) as e:
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await e.probe(TARGET, timeout=0.2)
        waited = loop.time() - start
    assert not result.ok and result.error == "timeout" and result.rtt is None
    assert result.at == T0
    assert 0.2 <= waited < 0.4
    assert e.stats.timeouts == 1


async def test_a_reply_after_the_timeout_is_foreign() -> None:
    net = Net(on_send=None)
    async with engine(net) as e:
        result = await e.probe(TARGET, timeout=0.05)
        answer(net.sockets[False], net.sockets[False].sent[0][0], TARGET)
        await asyncio.sleep(0.02)
        assert e.stats.foreign_ignored == 1
    assert result.error == "timeout"


async def test_datagram_sockets_match_without_the_identifier() -> None:
    """On ping sockets the kernel replaces our identifier with its own."""

    def kernel_rewrites(sock: FakeSocket, data: bytes, dest: str) -> None:
        sock.deliver(reply_to(data, ident=0x0777), dest)

    async with engine(Net(raw=False, on_send=kernel_rewrites)) as e:
        assert e.mode == "dgram"
        result = await e.probe(TARGET, timeout=1.0)
    assert result.ok


async def test_a_refused_send_is_an_immediate_loss_with_the_error_text() -> None:
    net = Net()
    async with engine(net) as e:
        net.sockets[False].refuse.append(OSError(errno.ENETUNREACH, "Network is unreachable"))
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await e.probe(TARGET, timeout=5.0)
        assert loop.time() - start < 0.5
    assert not result.ok and result.error == "send: [Errno 101] Network is unreachable"
    assert e.stats.send_errors == 1 and e.stats.sent == 0


async def test_sends_the_kernel_cannot_take_now_are_retried() -> None:
    net = Net()
    async with engine(net) as e:
        net.sockets[False].refuse.extend(
            [BlockingIOError(errno.EAGAIN, "again"), OSError(errno.ENOBUFS, "No buffer space")]
        )
        results = await e.probe_many([TARGET, "198.18.2.6"], timeout=1.0)
    assert [r.ok for r in results] == [True, True]
    assert e.stats.send_errors == 0 and e.stats.sent == 2


async def test_a_send_stuck_for_a_whole_timeout_is_a_loss() -> None:
    net = Net()
    async with engine(net) as e:
        net.sockets[False].refuse.extend(BlockingIOError(errno.EAGAIN, "x") for _ in range(500))
        result = await e.probe(TARGET, timeout=0.05)
    assert not result.ok and result.error is not None and result.error.startswith("send:")


async def test_an_echo_the_busy_loop_sent_late_is_a_result_not_a_loss() -> None:
    """The loop is busy for longer than the timeout before the echo can go out: it goes out
    late and is answered (the kernel took nothing longer), its send time the real one."""
    net = Net()
    async with engine(net) as e:
        loop = asyncio.get_running_loop()
        loop.call_soon(time.sleep, 0.1)  # runs before the pump the probe schedules
        result = await e.probe(TARGET, timeout=0.05)
    assert result.ok and e.stats.send_errors == 0 and e.stats.sent == 1


async def test_an_icmp_error_about_our_echo_ends_the_probe_with_its_reason() -> None:
    def router_says_no(sock: FakeSocket, data: bytes, dest: str) -> None:
        elsewhere = ipv4(data, src=US, dst="198.18.2.6")  # the same echo, sent elsewhere
        sock.deliver(icmp_error(UNREACHABLE_V4, 1, elsewhere), "198.18.1.2")
        sock.deliver(icmp_error(UNREACHABLE_V4, 0, ipv4(data, src=US, dst=dest)), "198.18.1.2")

    async with engine(Net(on_send=router_says_no)) as e:
        result = await e.probe(TARGET, timeout=1.0)
    assert not result.ok
    assert result.error == "unreachable: ICMP network unreachable from 198.18.1.2"
    assert e.stats.errors_received == 1 and e.stats.foreign_ignored == 1


async def test_many_probes_share_one_deadline_timer() -> None:
    targets = [f"198.19.{i // 250}.{i % 250 + 1}" for i in range(5000)]
    answered = set(targets[::2])

    def half(sock: FakeSocket, data: bytes, dest: str) -> None:
        if dest in answered:  # stamped on arrival, as the kernel does: a loop that a busy
            # machine lets read 2,500 replies late still sees them arrive in time
            sock.deliver(reply_to(data, v6=sock.v6), dest, stamp_ns=time.time_ns())

    async with engine(Net(on_send=half), rate=1e6, burst=1000) as e:
        tasks_before = len(asyncio.all_tasks())
        pending = asyncio.ensure_future(e.probe_many(targets, timeout=0.3))
        await asyncio.sleep(0.05)
        assert len(asyncio.all_tasks()) == tasks_before + 1  # probe_many itself, nothing more
        results = await pending
    assert [r.target for r in results] == targets
    assert all(r.ok == (r.target in answered) for r in results)
    assert e.stats.timeouts == 2500 and e.stats.received == 2500


async def test_one_burst_of_two_calls_keeps_each_calls_own_timeout() -> None:
    """Two calls queued together go out in one send burst; each still times out at its own
    deadline (the burst's end plus that call's timeout), not at the other's."""
    net = Net(on_send=None)
    async with engine(net) as e:
        loop = asyncio.get_running_loop()
        start = loop.time()
        short = asyncio.ensure_future(e.probe_many([TARGET] * 10, timeout=0.05))
        long = asyncio.ensure_future(e.probe_many([US] * 10, timeout=0.5))
        assert not any(r.ok for r in await short)
        short_done = loop.time() - start
        assert not any(r.ok for r in await long)
        long_done = loop.time() - start
        sent_at = [t for _, _, t in net.sockets[False].sent]
    # one burst: no loop turn between them (a loaded machine can pause a burst for some
    # milliseconds: CI saw 5.4 ms; still far under the short call's 50 ms timeout)
    assert len(sent_at) == 20 and max(sent_at) - min(sent_at) < 0.03
    assert 0.05 <= short_done < 0.4 and long_done >= 0.5
    assert e.stats.timeouts == 20


async def test_rtts_gives_each_echos_rtt_or_none_in_order() -> None:
    targets = [f"198.19.0.{i}" for i in range(1, 11)]
    answered = set(targets[::3])

    def some(sock: FakeSocket, data: bytes, dest: str) -> None:
        if dest in answered:
            answer(sock, data, dest)

    async with engine(Net(on_send=some), rate=1e6) as e:
        rtts = await e.rtts(targets, timeout=0.1)
    assert [rtt is not None for rtt in rtts] == [t in answered for t in targets]
    assert all(0 <= rtt < 0.1 for rtt in rtts if rtt is not None)


async def test_thousands_of_probes_schedule_a_timer_per_burst_not_per_probe() -> None:
    """5,000 echoes in bursts of 1,000: the engine asks the loop for a handful of timers and
    callbacks (pump and deadline), never one per probe."""
    targets = [f"198.19.{i // 250}.{i % 250 + 1}" for i in range(5000)]
    loop = asyncio.get_running_loop()
    scheduled = 0
    call_at, call_soon = loop.call_at, loop.call_soon

    def counting_at(*args: object, **kw: object) -> asyncio.TimerHandle:
        nonlocal scheduled
        scheduled += 1
        return call_at(*args, **kw)  # type: ignore[arg-type]

    def counting_soon(*args: object, **kw: object) -> asyncio.Handle:
        nonlocal scheduled
        scheduled += 1
        return call_soon(*args, **kw)  # type: ignore[arg-type]

    async with engine(Net(on_send=None), rate=1e6, burst=1000) as e:
        loop.call_at, loop.call_soon = counting_at, counting_soon  # type: ignore[method-assign]
        try:
            results = await e.probe_many(targets, timeout=0.1)
        finally:
            loop.call_at, loop.call_soon = call_at, call_soon  # type: ignore[method-assign]
    assert all(r.error == "timeout" for r in results) and e.stats.timeouts == 5000
    assert scheduled < 50, scheduled


async def test_at_most_65536_in_flight_then_an_immediate_loss() -> None:
    async with engine(Net(on_send=None), rate=1e9, burst=70_000) as e:
        pending = asyncio.ensure_future(e.probe_many([TARGET] * 65_536, timeout=1.0))
        await asyncio.sleep(0)  # all 65,536 wire sequence numbers are now taken
        extra = await e.probe(TARGET, timeout=1.0)
        results = await pending
    assert not extra.ok and extra.error is not None and "65,536" in extra.error
    assert len({r.error for r in results}) == 1 and results[0].error == "timeout"


async def test_sends_are_paced_by_the_token_bucket() -> None:
    net = Net()
    async with engine(net, rate=2000.0, burst=10) as e:
        results = await e.probe_many([TARGET] * 60, timeout=1.0)
    times = [t for _, _, t in net.sockets[False].sent]
    assert all(r.ok for r in results)
    # 10 at once, then 50 more at 2,000/s: at least 25 ms from the first to the last send
    assert times[-1] - times[0] >= 0.024
    # and never more than the bucket (10) plus what refills in 5 ms (10) within 5 ms
    assert max(sum(1 for t in times if x <= t < x + 0.005) for x in times) <= 21


async def test_burst_spaces_its_echoes() -> None:
    net = Net()
    async with engine(net) as e:
        results = await e.burst(TARGET, count=3, spacing=0.05, timeout=1.0)
    times = [t for _, _, t in net.sockets[False].sent]
    assert [r.ok for r in results] == [True] * 3
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(times))


async def test_ipv6_socket_opens_only_for_an_ipv6_target() -> None:
    net = Net()
    async with engine(net) as e:
        assert set(net.sockets) == {False}
        result = await e.probe("2001:db8::2", timeout=1.0)
        assert set(net.sockets) == {False, True}
    assert result.ok and result.target == "2001:db8::2"


async def test_at_overrides_the_send_time_and_is_kept_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    async with engine(Net()) as e:
        result = await e.probe(TARGET, timeout=1.0, at=datetime(2026, 1, 5, 12, 0, tzinfo=tokyo))
        with pytest.raises(InputError, match="naive"):
            await e.probe(TARGET, timeout=1.0, at=datetime(2026, 1, 5, 12, 0))  # noqa: DTZ001
    assert result.at == T0 and result.at.tzinfo == UTC


async def test_bad_input_raises_input_error() -> None:
    async with engine(Net()) as e:
        with pytest.raises(InputError, match="not an IP address"):
            await e.probe("router-a.example", timeout=1.0)
        with pytest.raises(InputError, match="timeout"):
            await e.probe(TARGET, timeout=0)


async def test_close_ends_probes_in_flight_and_refuses_new_ones() -> None:
    e = engine(Net(on_send=None))
    await e.start()
    pending = asyncio.ensure_future(e.probe(TARGET, timeout=10.0))
    await asyncio.sleep(0.01)
    await e.close()
    result = await pending
    assert not result.ok and result.error == "engine closed"
    with pytest.raises(RuntimeError):
        await e.probe(TARGET, timeout=1.0)


async def test_setup_errors_surface_from_start() -> None:
    def no_privilege(v6: bool) -> tuple[FakeSocket, bool]:
        raise ProbeSetupError("grant CAP_NET_RAW")

    with pytest.raises(ProbeSetupError, match="CAP_NET_RAW"):
        await IcmpEngine(opener=no_privilege).start()
