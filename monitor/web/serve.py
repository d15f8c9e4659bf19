"""Serving the application within its :class:`Limits`: what a client may hold of the daemon.

A bounded number of connections, the oldest idle one closed when a new one needs its place
(or a 503 when every one is mid-request), and a deadline for each request's head and body,
so idle or half-open connections cannot take the descriptors that notices and the journal
need (issue 10). ``app.py`` reads the limits and marks requests in progress (``BUSY``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from monitor.core.errors import MonitorError

log = logging.getLogger("slawatch.web")

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
"""The JSON API's Content-Security-Policy (nothing to load), also the 503's."""
BACKLOG = 16
"""How many connections one wake-up of the event loop accepts (asyncio's ``backlog``)."""
IN_FLIGHT = 4 * BACKLOG
"""Descriptors beyond ``max_connections`` that accepting may hold at a moment: connections
accepted in this wake-up and the last, not yet in the server's list, and those answered 503
(measured under 300 idle connections at once: at most 58)."""
QUEUE = 1024
"""The kernel's accept queue: a burst of connections waits there, costing no descriptor,
instead of having its SYNs dropped (a 1 s retransmit for whoever comes next)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What clients may hold. ``max_connections``: open at once; at the limit a new one
    closes the oldest idle one (no request in progress). ``request_timeout_s``: from accept,
    or from the last answer, to a complete request head (then the connection is closed);
    and again for a request's body (408)."""

    max_connections: int = 256
    request_timeout_s: float = 10.0


LIMITS = web.AppKey("limits", Limits)
BUSY = web.AppKey("busy", set)  # transports with a request in progress


def listen(host: str, port: int) -> socket.socket:
    """The HTTP address, bound now: ``slawatch run`` binds it before it opens the journal, so
    a port already taken (a second daemon, another program) fails before anything is
    written or started. MonitorError if it cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=QUEUE)
    except OSError as exc:
        raise MonitorError(
            f"http.listen {host}:{port}: cannot listen: {exc.strerror or exc}; "
            "pick a free port or stop what holds it"
        ) from None


async def serve(
    app: web.Application, host: str, port: int, sock: socket.socket | None = None
) -> web.AppRunner:
    """Start serving ``app`` within its :class:`Limits` on ``sock`` (from :func:`listen`),
    else on a socket bound to ``host:port`` now; ``await runner.cleanup()`` stops."""
    limits = app[LIMITS]
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=limits.request_timeout_s,  # also bounds the wait for a head
        lingering_time=limits.request_timeout_s,  # the unread rest of a refused body
    )
    await runner.setup()
    assert runner.server is not None
    try:
        bound = sock or listen(host, port)
    except MonitorError:
        await runner.cleanup()
        raise
    admit = _Admission(runner.server, limits.max_connections, app[BUSY])
    site = _Site(runner, host, port, bound, admit)
    try:
        await site.start()
    except BaseException:
        bound.close()
        await runner.cleanup()
        raise
    return runner


class _Admission:
    """The protocol factory: at most ``limit`` open connections. A connection over the limit
    closes the oldest idle one (accepted, no request in progress: a silent or half-open
    client), or, when every one is mid-request, is answered 503 and closed."""

    def __init__(self, server: web.Server, limit: int, busy: set[Any]) -> None:
        self.server, self.limit, self.busy = server, limit, busy
        self.evicted = 0
        self._told = -1e9

    def __call__(self) -> asyncio.BaseProtocol:
        held = self.server.connections  # oldest first; closing ones hold descriptors too
        if len(held) >= self.limit:
            idle = next(
                (h for h in held if h.transport is not None and h.transport not in self.busy),
                None,
            )
            self._tell(idle is not None)
            if idle is None:
                return _Refuse()
            idle.force_close()
        return self.server()

    def _tell(self, evicting: bool) -> None:
        """One log line a minute at most: a flood of connections must not flood the log."""
        self.evicted += 1
        now = time.monotonic()
        if now - self._told >= 60:
            self._told = now
            log.warning(
                "http: %d connections open, the limit; %s (%d so far)", self.limit,
                "closing the oldest idle one" if evicting else "all busy: answering 503",
                self.evicted,
            )  # fmt: skip


class _Refuse(asyncio.Protocol):
    """503 and close: every connection at the limit has a request in progress."""

    BODY = b'{"error": "too many connections, try again", "field": null}'
    ANSWER = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"X-Content-Type-Options: nosniff\r\nContent-Security-Policy: %s\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
        % (API_POLICY.encode(), len(BODY), BODY)
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self.ANSWER)
        transport.close()


class _Site(web.BaseSite):
    """A TCP site whose connections come through an :class:`_Admission`."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        sock: socket.socket,
        admit: _Admission,
    ) -> None:
        super().__init__(runner)
        self._host, self._port, self._sock, self._admit = host, port, sock, admit

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        sock = self._sock
        self._server = await loop.create_server(self._admit, sock=sock, backlog=BACKLOG)
        sock.listen(QUEUE)  # asyncio set the queue to BACKLOG; the batch size stays BACKLOG
