"""What a client may hold of the server (issue 10, item 3), over real sockets on loopback.

The daemon-level proof (a real ``slawatch run`` with few descriptors and 300 idle
connections) is tests/e2e/test_idle_connections.py; here each rule is driven on its own
with small limits: connections beyond the limit push out the oldest idle one, a request
head or body that does not arrive in time is cut off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from monitor.web import Limits, make_app, serve
from tests.support import free_port
from tests.web.test_api import TOKEN, Backend

TIMEOUT = 0.5


@pytest.fixture
async def server() -> AsyncIterator[int]:
    port = free_port()
    app = make_app(
        Backend(), None, token=TOKEN, limits=Limits(max_connections=8, request_timeout_s=TIMEOUT)
    )
    runner = await serve(app, "127.0.0.1", port)
    try:
        yield port
    finally:
        await runner.cleanup()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[float, bytes]:
    """How long until the server closed the connection, and what it said before."""
    t0 = time.monotonic()
    data = await asyncio.wait_for(reader.read(), seconds)
    return time.monotonic() - t0, data


async def get(port: int, path: str = "/healthz") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    return int(answer.split()[1]), answer


async def test_a_silent_connection_is_closed_after_the_request_timeout(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    try:
        took, data = await closed_within(reader, 10)
    finally:
        writer.close()
    assert data == b"" and TIMEOUT * 0.8 <= took < TIMEOUT + 3, took


async def test_a_trickled_request_head_is_cut_off_at_the_timeout(server: int) -> None:
    """Slowloris: a byte of header now and then never extends the deadline."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        for _ in range(100):
            writer.write(b"X-A: b\r\n")
            await asyncio.sleep(TIMEOUT / 5)

    dripping = asyncio.create_task(trickle())
    try:
        took, data = await closed_within(reader, 10)
    finally:
        dripping.cancel()
        writer.close()
    assert data == b"" and took < TIMEOUT + 3, took


async def test_a_trickled_body_is_answered_408(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(
        f"POST /api/incidents/1/exclude HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{".encode()
    )
    t0 = time.monotonic()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        took = time.monotonic() - t0
        body = await asyncio.wait_for(reader.read(), 10)  # then closed, the rest unread
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 408") and b"body not received" in body, head + body
    assert TIMEOUT * 0.8 <= took < TIMEOUT + 3, took
    assert time.monotonic() - t0 < 2 * TIMEOUT + 3


async def test_idle_connections_beyond_the_limit_make_room(server: int) -> None:
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(30):
            held.append(await asyncio.open_connection("127.0.0.1", server))
        t0 = time.monotonic()
        status, _ = await get(server)
        assert status == 200 and time.monotonic() - t0 < 2
        closed = 0
        for reader, _ in held:  # the oldest were closed to make room, at once
            try:
                if await asyncio.wait_for(reader.read(), 0.05) == b"":
                    closed += 1
            except TimeoutError:
                pass
        assert closed >= 30 - 8, closed
    finally:
        for _, writer in held:
            writer.close()


async def test_when_every_connection_is_busy_a_new_one_is_told_503() -> None:
    port = free_port()
    app = make_app(
        Backend(), None, token=TOKEN, limits=Limits(max_connections=8, request_timeout_s=30)
    )
    started = asyncio.Event()

    @web.middleware
    async def mark(request: web.Request, handler: Any) -> web.StreamResponse:
        started.set()
        return await handler(request)

    app.middlewares.append(mark)
    runner = await serve(app, "127.0.0.1", port)
    busy: list[asyncio.StreamWriter] = []
    try:
        for _ in range(8):  # each stuck half way through its body, so busy
            started.clear()
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST /api/incidents/1/exclude HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{".encode()
            )
            busy.append(writer)
            await asyncio.wait_for(started.wait(), 5)
        status, answer = await get(port)
        assert status == 503 and b"too many connections" in answer
        assert b"X-Content-Type-Options: nosniff" in answer
    finally:
        for writer in busy:
            writer.close()
        await runner.cleanup()
