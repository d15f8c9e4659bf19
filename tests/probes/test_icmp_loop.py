"""icmp_loop.SelectorLoop: the small loop ``slawatch ping`` runs the engine on (no asyncio).

Real sockets (a socketpair) for readers; time is the loop's own monotonic clock, so the
timer tests assert order and lower bounds only.
"""

from __future__ import annotations

import socket

import pytest

from monitor.probes.icmp_loop import SelectorLoop


def test_timers_run_in_time_order_and_soon_calls_first() -> None:
    loop, ran = SelectorLoop(), list[str]()
    now = loop.time()
    loop.call_at(now + 0.02, ran.append, "at 20 ms")
    loop.call_later(0.01, ran.append, "after 10 ms")
    loop.call_soon(ran.append, "soon")
    loop.run_until(lambda: len(ran) == 3)
    assert ran == ["soon", "after 10 ms", "at 20 ms"]
    assert loop.time() >= now + 0.02
    loop.close()


def test_a_cancelled_call_never_runs() -> None:
    loop, ran = SelectorLoop(), list[str]()
    loop.call_later(0.001, ran.append, "cancelled").cancel()
    loop.call_soon(ran.append, "soon").cancel()
    loop.call_later(0.01, ran.append, "kept")
    loop.run_until(lambda: bool(ran))
    assert ran == ["kept"]
    loop.close()


def test_a_reader_runs_when_its_socket_is_readable_until_removed() -> None:
    loop, got = SelectorLoop(), list[bytes]()
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        loop.add_reader(b.fileno(), lambda: got.append(b.recv(16)))
        loop.call_later(0.01, a.send, b"ping")
        loop.run_until(lambda: bool(got))
        assert got == [b"ping"]
        assert loop.remove_reader(b.fileno()) and not loop.remove_reader(b.fileno())
    loop.close()


def test_a_callback_adding_callbacks_does_not_starve_the_readers() -> None:
    """Calls added by a call run on the next turn, after a select: a pump that re-arms
    itself with call_soon still lets replies in."""
    loop, got, turns = SelectorLoop(), list[bytes](), [0]
    a, b = socket.socketpair()

    def again() -> None:
        turns[0] += 1
        loop.call_soon(again)

    with a, b:
        b.setblocking(False)
        loop.add_reader(b.fileno(), lambda: got.append(b.recv(16)))
        a.send(b"x")
        loop.call_soon(again)
        loop.run_until(lambda: bool(got))
    assert got == [b"x"] and turns[0] <= 2
    loop.close()


def test_waiting_on_nothing_is_an_error_not_a_hang() -> None:
    loop = SelectorLoop()
    with pytest.raises(RuntimeError, match="nothing left to wait for"):
        loop.run_until(lambda: False)
    loop.close()
