"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the status page, on one aiohttp server.

The server knows nothing of the daemon: it talks to a :class:`Backend` (the service
implements it), so tests can serve it over a fake. Errors are JSON ``{"error", "field"}``
with a 4xx status; nothing from a traceback ever reaches a client, whatever the input (ids
are 1 to 18 ASCII digits, times and months within core/bounds.py, bodies read whole, nesting
and unknown fields refused). The POST and DELETE routes need ``Authorization: Bearer
<token>`` (scheme in any case, token compared in constant time); with no token configured
they are refused, so an open port never lets anyone change the SLA record.

A client holds little of the daemon (:class:`Limits`): a bounded number of connections, the
oldest idle one closed when a new one needs its place, and a deadline for each request's head
and body, so idle or half-open connections cannot take the descriptors that notices and the
journal need (issue 10).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from aiohttp import web

from monitor.core.bounds import BoundsError, check_window, parse_id
from monitor.core.errors import InputError, MonitorError
from monitor.core.report import parse_month
from monitor.core.times import parse_day
from monitor.web.page import POLICY, StatusView, render_page

log = logging.getLogger("slawatch.web")

MAX_BODY = 64 * 1024
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
BACKLOG = 16
"""How many connections one wake-up of the event loop accepts (asyncio's ``backlog``)."""
IN_FLIGHT = 4 * BACKLOG
"""Descriptors beyond ``max_connections`` that accepting may hold at a moment: connections
accepted in this wake-up and the last, not yet in the server's list, and those answered 503
(measured under 300 idle connections at once: at most 58)."""
QUEUE = 1024
"""The kernel's accept queue: a burst of connections waits there, costing no descriptor,
instead of having its SYNs dropped (a 1 s retransmit for whoever comes next)."""


class Backend(Protocol):
    """What the HTTP side reads and changes; JSON-ready values out."""

    async def circuits(self) -> list[dict[str, Any]]: ...
    async def incidents(
        self, circuit: str | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]: ...
    async def incident(self, incident_id: int) -> dict[str, Any] | None: ...
    async def sla(self, month: str) -> dict[str, Any]: ...
    async def add_maintenance(
        self,
        circuit: str,
        start: datetime,
        end: datetime,
        note: str,
        source: str = "api",
        *,
        announced_at: datetime | None = None,
        by: str = "",
    ) -> dict[str, Any]: ...
    async def exclude(self, incident_id: int, reason: str) -> dict[str, Any]: ...
    async def maintenance(self, circuit: str | None) -> list[dict[str, Any]]: ...
    async def remove_maintenance(self, window_id: int) -> dict[str, Any]: ...
    async def status(self) -> StatusView: ...
    async def cluster(self) -> dict[str, Any]: ...
    def healthy(self) -> tuple[bool, str]: ...


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

TokenSource = str | None | Callable[[], str | None]


class HttpError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class Renderer(Protocol):
    def refresh(self) -> None: ...
    def expose(self) -> tuple[bytes, str]: ...


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def parse_time(text: str | None, field: str) -> datetime | None:
    """ISO 8601 with an offset, or YYYY-MM-DD (midnight UTC), within core/bounds.py's years
    (core/times.py); None for nothing; InputError (400) naming ``field`` otherwise."""
    if text is None or text == "":
        return None
    return parse_day(text, field, UTC)


async def _body(request: web.Request, fields: frozenset[str]) -> dict[str, Any]:
    """The whole JSON object, however many segments it came in; only ``fields`` allowed."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes")
    timeout = request.app[LIMITS].request_timeout_s
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        raise HttpError(408, f"body not received within {timeout:g} s") from None
    except web.HTTPRequestEntityTooLarge:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes") from None
    try:
        data = json.loads(raw)
    except RecursionError:
        raise HttpError(400, "body is not JSON this API takes: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a 5,000-digit number
        raise HttpError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HttpError(400, "body must be a JSON object")
    unknown = sorted(set(data) - fields)
    if unknown:
        raise HttpError(
            400, f"unknown field {unknown[0]!r}; this route takes {', '.join(sorted(fields))}",
            unknown[0],
        )  # fmt: skip
    return data


def _text(data: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise HttpError(400, f"{field!r} is required and must be a non-empty string", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HttpError(400, f"{field!r} holds a lone surrogate; send UTF-8 text", field) from None
    return value


def _int_id(request: web.Request) -> int:
    try:
        return parse_id(request.match_info["id"], "id")
    except InputError as exc:
        raise HttpError(400, str(exc), "id") from None


def _bearer(header: str, token: str) -> bool:
    """RFC 7235: the scheme is case-insensitive. The header may hold any bytes (aiohttp
    keeps undecodable ones as surrogates), so compare bytes, in constant time."""
    scheme, _, given = header.strip().partition(" ")
    secret = given.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(secret, token.encode()) and scheme.lower() == "bearer"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as exc:
        return _json({"error": exc.message, "field": exc.field}, exc.status)
    except InputError as exc:
        return _json({"error": str(exc), "field": exc.field}, 400)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _json({"error": exc.reason, "field": None}, exc.status)
        raise
    except MonitorError as exc:
        log.error("%s %s: %s", request.method, request.path, exc)
        return _json({"error": str(exc), "field": None}, 503)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _json({"error": "internal error (see the daemon's log)", "field": None}, 500)


@web.middleware
async def _busy(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Marks the connection busy while its request is handled (see :class:`_Admission`)."""
    transport, busy = request.transport, request.app[BUSY]
    busy.add(transport)
    try:
        return await handler(request)
    finally:
        busy.discard(transport)


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["X-Content-Type-Options"] = "nosniff"
    page = response.content_type == "text/html"
    response.headers["Content-Security-Policy"] = POLICY if page else API_POLICY


def make_app(
    backend: Backend,
    metrics: Renderer | None,
    *,
    token: TokenSource,
    limits: Limits | None = None,
) -> web.Application:
    """The application. ``token`` guards the POST and DELETE routes (None: refused); pass a
    callable to have it asked on each request (the daemon re-reads the file on SIGHUP)."""
    current = token if callable(token) else lambda: token

    def authorise(request: web.Request) -> None:
        secret = current()
        if secret is None:
            raise HttpError(
                403,
                "changes are disabled: set http.token_file in the "
                "configuration to enable the POST API",
            )
        if not _bearer(request.headers.get("Authorization", ""), secret):
            raise HttpError(401, "missing or wrong bearer token")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=render_page(await backend.status()), content_type="text/html")

    async def status_json(request: web.Request) -> web.Response:
        return _json(json.loads(json.dumps(asdict(await backend.status()), default=str)))

    async def metrics_route(request: web.Request) -> web.Response:
        if metrics is None:
            raise HttpError(404, "metrics are not enabled")
        metrics.refresh()  # on the loop: it reads the supervisor's state
        body, ctype = await asyncio.to_thread(metrics.expose)
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = ctype
        return resp

    async def healthz(request: web.Request) -> web.Response:
        ok, why = backend.healthy()
        return _json({"ok": ok, "detail": why}, 200 if ok else 503)

    async def circuits(request: web.Request) -> web.Response:
        return _json(await backend.circuits())

    async def cluster(request: web.Request) -> web.Response:
        return _json(await backend.cluster())

    async def incidents(request: web.Request) -> web.Response:
        q = request.query
        return _json(
            await backend.incidents(
                q.get("circuit") or None,
                parse_time(q.get("from"), "from"),
                parse_time(q.get("to"), "to"),
            )
        )

    async def incident(request: web.Request) -> web.Response:
        found = await backend.incident(_int_id(request))
        if found is None:
            raise HttpError(404, f"no incident {request.match_info['id']}", "id")
        return _json(found)

    async def sla(request: web.Request) -> web.Response:
        month = request.query.get("month", "")
        try:
            parse_month(month)
        except InputError as exc:
            raise HttpError(400, f"month: {exc}", "month") from None
        return _json(await backend.sla(month))

    async def maintenance(request: web.Request) -> web.Response:
        authorise(request)
        fields = frozenset({"circuit", "start", "end", "note", "announced_at", "by"})
        data = await _body(request, fields)
        start = parse_time(_text(data, "start"), "start")
        end = parse_time(_text(data, "end"), "end")
        assert start is not None and end is not None
        try:
            check_window(start, end)
        except BoundsError as exc:
            raise HttpError(400, str(exc), exc.field) from None
        announced = parse_time(_text(data, "announced_at", required=False), "announced_at")
        created = await backend.add_maintenance(
            _text(data, "circuit"),
            start,
            end,
            _text(data, "note", required=False),
            announced_at=announced,
            by=_text(data, "by", required=False) or f"api {request.remote or ''}".strip(),
        )
        return _json(created, 201)

    async def maintenance_list(request: web.Request) -> web.Response:
        return _json(await backend.maintenance(request.query.get("circuit") or None))

    async def maintenance_remove(request: web.Request) -> web.Response:
        authorise(request)
        return _json(await backend.remove_maintenance(_int_id(request)))

    async def exclude(request: web.Request) -> web.Response:
        authorise(request)
        incident_id = _int_id(request)
        reason = _text(await _body(request, frozenset({"reason"})), "reason")
        return _json(await backend.exclude(incident_id, reason))

    app = web.Application(middlewares=[_errors, _busy], client_max_size=MAX_BODY)
    app[LIMITS] = limits or Limits()
    app[BUSY] = set()
    app.on_response_prepare.append(_secure_headers)
    app.router.add_get("/", page)
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/status", status_json)
    app.router.add_get("/api/circuits", circuits)
    app.router.add_get("/api/cluster", cluster)
    app.router.add_get("/api/incidents", incidents)
    app.router.add_get("/api/incidents/{id}", incident)
    app.router.add_get("/api/sla", sla)
    app.router.add_post("/api/maintenance", maintenance)
    app.router.add_get("/api/maintenance", maintenance_list)
    app.router.add_delete("/api/maintenance/{id}", maintenance_remove)
    app.router.add_post("/api/incidents/{id}/exclude", exclude)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app`` within its :class:`Limits`; ``await runner.cleanup()`` stops."""
    limits = app[LIMITS]
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=limits.request_timeout_s,  # also bounds the wait for a head
        lingering_time=limits.request_timeout_s,  # the unread rest of a refused body
    )
    await runner.setup()
    assert runner.server is not None
    site = _Site(runner, host, port, _Admission(runner.server, limits.max_connections, app[BUSY]))
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MonitorError(
            f"http.listen {host}:{port}: cannot listen: {exc.strerror}; "
            "pick a free port or stop what holds it"
        ) from None
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

    def __init__(self, runner: web.AppRunner, host: str, port: int, admit: _Admission) -> None:
        super().__init__(runner)
        self._host, self._port, self._admit = host, port, admit

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, self._port), family=family, backlog=QUEUE)
        try:
            self._server = await loop.create_server(self._admit, sock=sock, backlog=BACKLOG)
        except BaseException:
            sock.close()
            raise
        sock.listen(QUEUE)  # asyncio set the queue to BACKLOG; the batch size stays BACKLOG
