"""The engine on real sockets against loopback (in this process; no traffic leaves lo)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from monitor.core.errors import ProbeSetupError
from monitor.probes.icmp import IcmpEngine
from monitor.probes.icmp_loop import SelectorLoop
from monitor.probes.icmp_socket import enable_stamps


async def started(**kw: object) -> IcmpEngine:
    engine = IcmpEngine(**kw)  # type: ignore[arg-type]
    try:
        await engine.start()
    except ProbeSetupError as exc:
        pytest.skip(f"no ICMP socket here: {exc}")
    return engine


@pytest.fixture
async def engine() -> AsyncIterator[IcmpEngine]:
    e = await started()
    async with e:
        yield e


async def test_loopback_answers_with_a_positive_rtt(engine: IcmpEngine) -> None:
    before = datetime.now(UTC)
    result = await engine.probe("127.0.0.1", timeout=1.0)
    after = datetime.now(UTC)
    assert result.ok and result.target == "127.0.0.1" and result.error is None
    assert result.rtt is not None and 0 < result.rtt < 0.5
    assert before <= result.at <= after and result.at.tzinfo == UTC
    assert engine.stats.sent == 1 and engine.stats.received == 1


async def test_every_reply_is_timed_by_the_kernels_receive_stamp(engine: IcmpEngine) -> None:
    """Where the kernel offers SO_TIMESTAMPNS (Linux), the engine uses it for every reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        if enable_stamps(probe) is None:
            pytest.skip("no kernel receive time-stamps on this system")
    results = await engine.probe_many(["127.0.0.1"] * 200, timeout=2.0)
    assert all(r.ok for r in results)
    assert engine.stats.received == engine.stats.kernel_stamped == 200


@pytest.mark.parametrize("native", [True, False], ids=["c", "python"])
async def test_both_loops_on_real_sockets_answer_alike(native: bool) -> None:
    """The daemon's engine on raw sockets runs the C loops (where built: test_icmp_native
    fails otherwise); ``native=False`` the Python ones. Both see every reply, kernel-timed."""
    engine = await started(native=native)
    async with engine:
        assert engine.native is native
        results = await engine.probe_many(["127.0.0.1", "::1"] * 300, timeout=2.0)
        assert all(r.ok and r.rtt is not None and 0 <= r.rtt < 1 for r in results)
        assert engine.stats.received == engine.stats.kernel_stamped == 600


async def test_ipv6_loopback(engine: IcmpEngine) -> None:
    try:  # IPv6 may be disabled in the kernel
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.connect(("::1", 9))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    result = await engine.probe("::1", timeout=1.0)
    assert result.ok and result.rtt is not None and result.rtt > 0


async def test_thousands_in_flight_lose_nothing(engine: IcmpEngine) -> None:
    results = await engine.probe_many(["127.0.0.1"] * 5000, timeout=2.0)
    assert sum(r.ok for r in results) == 5000
    assert engine.stats.received == 5000 and engine.stats.timeouts == 0


async def test_two_engines_with_the_same_identifier_never_take_each_others_replies() -> None:
    """Both raw sockets see every reply; identifier, sequence and nonce keep them apart."""
    a, b = await started(ident=0x5157), await started(ident=0x5157)
    async with a, b:
        if a.mode != "raw":
            pytest.skip("datagram sockets only see their own replies")
        ra, rb = await asyncio.gather(
            a.probe_many(["127.0.0.1"] * 300, timeout=2.0),
            b.probe_many(["127.0.0.1"] * 300, timeout=2.0),
        )
    assert all(r.ok for r in ra + rb)
    for e in (a, b):
        assert e.stats.received == 300 and e.stats.sent == 300
        assert e.stats.foreign_ignored >= 300  # the other engine's replies, every one


def test_on_the_selector_loop_without_asyncio() -> None:
    """``slawatch ping``'s way: the same engine on icmp_loop.SelectorLoop, batches by
    ``submit``; every reply kernel-stamped (timeouts: test_icmp_netns, through the command)."""
    loop, engine = SelectorLoop(), IcmpEngine()
    try:
        engine.start_on(loop)
    except ProbeSetupError as exc:
        pytest.skip(f"no ICMP socket here: {exc}")
    try:
        answered = engine.submit(["127.0.0.1"] * 3000, timeout=2.0)
        loop.run_until(lambda: not answered.left)
    finally:
        engine.stop()
        loop.close()
    assert all(r is not None and 0 <= r < 2.0 for r in answered.rtts)
    stats = engine.stats
    assert stats.received == 3000 and stats.sent >= 3000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        if enable_stamps(probe) is not None:
            assert stats.kernel_stamped == 3000
