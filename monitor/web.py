"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the status page, on one aiohttp server.

The server knows nothing of the daemon: it talks to a :class:`Backend` (the service
implements it), so tests can serve it over a fake. Errors are JSON ``{"error", "field"}``
with a 4xx status; nothing from a traceback ever reaches a client. The POST routes need
``Authorization: Bearer <token>`` (compared in constant time); with no token configured they
are refused, so an open port never lets anyone change the SLA record.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from monitor.core.errors import InputError, MonitorError
from monitor.web_page import StatusView, render_page

log = logging.getLogger("slawatch.web")

MAX_BODY = 64 * 1024
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Backend(Protocol):
    """What the HTTP side reads and changes; JSON-ready values out."""

    async def circuits(self) -> list[dict[str, Any]]: ...
    async def incidents(
        self, circuit: str | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]: ...
    async def incident(self, incident_id: int) -> dict[str, Any] | None: ...
    async def sla(self, month: str) -> dict[str, Any]: ...
    async def add_maintenance(
        self, circuit: str, start: datetime, end: datetime, note: str
    ) -> dict[str, Any]: ...
    async def exclude(self, incident_id: int, reason: str) -> dict[str, Any]: ...
    async def maintenance(self, circuit: str | None) -> list[dict[str, Any]]: ...
    async def remove_maintenance(self, window_id: int) -> dict[str, Any]: ...
    async def status(self) -> StatusView: ...
    def healthy(self) -> tuple[bool, str]: ...


class HttpError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class Renderer(Protocol):
    def render(self) -> tuple[bytes, str]: ...


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def parse_time(text: str | None, field: str) -> datetime | None:
    """ISO 8601 with an offset, or YYYY-MM-DD (midnight UTC); HttpError 400 otherwise."""
    if text is None or text == "":
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(400, f"{text!r} is not an ISO 8601 time", field) from None
    if len(text) == 10:
        return at.replace(tzinfo=UTC)
    if at.tzinfo is None:
        raise HttpError(400, f"{text!r} has no UTC offset; add one, e.g. +09:00", field)
    return at


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HttpError(400, "body must be a JSON object")
    return data


def _text(data: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise HttpError(400, f"{field!r} is required and must be a non-empty string", field)
    return value


def _int_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit():
        raise HttpError(400, f"id {text!r} is not a number", "id")
    return int(text)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as exc:
        return _json({"error": exc.message, "field": exc.field}, exc.status)
    except InputError as exc:
        return _json({"error": str(exc), "field": None}, 400)
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


def make_app(backend: Backend, metrics: Renderer | None, *, token: str | None) -> web.Application:
    """The application; ``token`` guards the POST routes (None: they are refused)."""

    def authorise(request: web.Request) -> None:
        if token is None:
            raise HttpError(
                403,
                "changes are disabled: set http.token_file in the "
                "configuration to enable the POST API",
            )
        given = request.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(
            given[7:].strip().encode(), token.encode()
        ):
            raise HttpError(401, "missing or wrong bearer token")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=render_page(await backend.status()), content_type="text/html")

    async def status_json(request: web.Request) -> web.Response:
        from dataclasses import asdict

        return _json(json.loads(json.dumps(asdict(await backend.status()), default=str)))

    async def metrics_route(request: web.Request) -> web.Response:
        if metrics is None:
            raise HttpError(404, "metrics are not enabled")
        # In a worker thread: at 10,000 paths the text takes ~0.3-0.8 s of CPU to build, which
        # on the loop would stall every probe tick for as long (prometheus_client is
        # thread-safe; the GIL still shares the CPU, in 5 ms slices).
        body, ctype = await asyncio.to_thread(metrics.render)
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = ctype
        return resp

    async def healthz(request: web.Request) -> web.Response:
        ok, why = backend.healthy()
        return _json({"ok": ok, "detail": why}, 200 if ok else 503)

    async def circuits(request: web.Request) -> web.Response:
        return _json(await backend.circuits())

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
        if not MONTH.match(month):
            raise HttpError(400, "month must be YYYY-MM, e.g. 2026-10", "month")
        return _json(await backend.sla(month))

    async def maintenance(request: web.Request) -> web.Response:
        authorise(request)
        data = await _body(request)
        start = parse_time(_text(data, "start"), "start")
        end = parse_time(_text(data, "end"), "end")
        assert start is not None and end is not None
        if end <= start:
            raise HttpError(400, "end must be after start", "end")
        created = await backend.add_maintenance(
            _text(data, "circuit"), start, end, _text(data, "note", required=False)
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
        reason = _text(await _body(request), "reason")
        return _json(await backend.exclude(incident_id, reason))

    app = web.Application(middlewares=[_errors], client_max_size=MAX_BODY)
    app.router.add_get("/", page)
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/status", status_json)
    app.router.add_get("/api/circuits", circuits)
    app.router.add_get("/api/incidents", incidents)
    app.router.add_get("/api/incidents/{id}", incident)
    app.router.add_get("/api/sla", sla)
    app.router.add_post("/api/maintenance", maintenance)
    app.router.add_get("/api/maintenance", maintenance_list)
    app.router.add_delete("/api/maintenance/{id}", maintenance_remove)
    app.router.add_post("/api/incidents/{id}/exclude", exclude)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app``; call ``await runner.cleanup()`` to stop."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MonitorError(
            f"http.listen {host}:{port}: cannot listen: {exc.strerror}; "
            "pick a free port or stop what holds it"
        ) from None
    return runner
