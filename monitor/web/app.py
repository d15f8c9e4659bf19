"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the pages, on one aiohttp server.

The server knows nothing of the daemon: it talks to a :class:`Backend` (the service
implements it), so tests can serve it over a fake. Errors are JSON ``{"error", "field"}``
with a 4xx status; nothing from a traceback ever reaches a client, whatever the input (ids
are 1 to 18 ASCII digits, times and months within core/bounds.py, bodies read whole, nesting
and unknown fields refused; so are query parameters a JSON route does not take, a parameter
given twice and a range that ends before it starts). The POST and DELETE routes need
``Authorization: Bearer <token>`` (scheme in any case, token compared in constant time); with
no token configured they are refused, so an open port never lets anyone change the SLA record.

A client holds little of the daemon: serve.py bounds the connections, and the handlers here
bound each request's head and body in time (:class:`Limits`, issue 10).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web

from monitor.clock import Wall, utcnow
from monitor.core.bounds import BoundsError, check_window
from monitor.core.errors import InputError, MonitorError, NotFoundError
from monitor.core.report import parse_month
from monitor.web.auth import SESSION_COOKIE, Customer, Gate, Role, Viewer
from monitor.web.backend import Backend
from monitor.web.exchange import (
    HttpError,
    Reply,
    Request,
    bearer,
    check_range,
    parse_int_id,
    parse_query,
    parse_time,
    text_field,
)
from monitor.web.serve import API_POLICY, BUSY, LIMITS, Limits
from monitor.web.ui import UI
from monitor.web.ui import Handler as PageHandler

log = logging.getLogger("slawatch.web")

MAX_BODY = 64 * 1024
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The pages' Content-Security-Policy: our own stylesheet and script files, nothing inline,
forms only to us, no frames."""


GATE = web.AppKey("gate", Gate)  # who is signed in (tests read its sessions)

TokenSource = str | None | Callable[[], str | None]


class Renderer(Protocol):
    def refresh(self) -> None: ...
    def expose(self) -> tuple[bytes, str]: ...


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


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


def _int_id(request: web.Request) -> int:
    return parse_int_id(request.match_info["id"])


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as exc:
        return _json({"error": exc.message, "field": exc.field}, exc.status)
    except InputError as exc:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return _json({"error": str(exc), "field": exc.field}, status)
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
    response.headers["Content-Security-Policy"] = PAGE_POLICY if page else API_POLICY
    response.headers["Referrer-Policy"] = "same-origin"


def _static() -> dict[str, tuple[bytes, str]]:
    """The pages' stylesheet and script (monitor/web/static), served at /static/NAME."""
    folder = resources.files("monitor.web").joinpath("static")
    types = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
    return {
        f.name: (f.read_bytes(), types[f.name.rpartition(".")[2]])
        for f in folder.iterdir()
        if f.name.rpartition(".")[2] in types
    }


async def _form(request: web.Request) -> dict[str, str]:
    """A page's POST: urlencoded fields (the first of each name), read whole in time."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise HttpError(415, "a form must be sent as application/x-www-form-urlencoded")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise HttpError(403, "a form from another site is refused (Origin does not match)")
    timeout = request.app[LIMITS].request_timeout_s
    try:
        async with asyncio.timeout(timeout):
            data = await request.post()
    except TimeoutError:
        raise HttpError(408, f"body not received within {timeout:g} s") from None
    except web.HTTPRequestEntityTooLarge:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise HttpError(400, f"{key!r} must be text", key)
        out.setdefault(key, value)
    return out


def _response(reply: Reply, secure: bool) -> web.Response:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    resp = web.Response(status=reply.status, body=body)
    charset = "; charset=utf-8" if isinstance(reply.body, str) else ""
    resp.headers["Content-Type"] = reply.content_type + charset
    for name, value in reply.headers:
        resp.headers[name] = value
    for c in reply.cookies:
        resp.set_cookie(
            c.name,
            c.value,
            max_age=c.max_age,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=secure,
        )
    return resp


def make_app(
    backend: Backend,
    metrics: Renderer | None,
    *,
    token: TokenSource,
    customers: Callable[[], Sequence[Customer]] | Sequence[Customer] = (),
    limits: Limits | None = None,
    wall: Wall = utcnow,
) -> web.Application:
    """The application. ``token`` guards the POST and DELETE routes (None: refused) and signs
    the operator in; ``customers`` sign in with their own. Pass callables to have them asked
    on each request (the daemon re-reads the files on SIGHUP). ``wall``: aware UTC now."""
    current = token if callable(token) else lambda: token
    listed = customers if callable(customers) else lambda: tuple(customers)
    gate = Gate(current, listed)
    ui = UI(backend, gate, wall)
    static = _static()

    def authorise(request: web.Request) -> None:
        secret = current()
        if secret is None:
            raise HttpError(
                403,
                "changes are disabled: set http.token_file in the "
                "configuration to enable the POST API",
            )
        if not bearer(request.headers.get("Authorization", ""), secret):
            raise HttpError(401, "missing or wrong bearer token")

    def reader(request: web.Request) -> Viewer:
        """Who reads: anyone while no customer is configured; else a session or the token."""
        viewer = gate.viewer(
            session_id=request.cookies.get(SESSION_COOKIE),
            authorization=request.headers.get("Authorization", ""),
        )
        if viewer.role is Role.ANONYMOUS and gate.closed:
            raise HttpError(
                401,
                "sign in at /signin, or send Authorization: Bearer <API token>: "
                "with customers configured, reading needs it",
            )
        return viewer

    def seen(viewer: Viewer, circuit: str | None) -> str | None:
        if circuit is not None and not viewer.sees(circuit):
            raise HttpError(404, f"no circuit {circuit!r}", "circuit")
        return circuit

    def page_route(handler: PageHandler) -> Handler:
        async def route(request: web.Request) -> web.StreamResponse:
            form = await _form(request) if request.method == "POST" else {}
            req = Request(  # HEAD is GET to the page (aiohttp drops the body)
                method="GET" if request.method == "HEAD" else request.method,
                path=request.path,
                params=dict(request.match_info),
                query=_first(request.query),
                form=form,
                cookies=dict(request.cookies),
                accept_language=request.headers.get("Accept-Language", ""),
                remote=request.remote or "",
                secure=request.secure,
            )
            return _response(await ui.handle(handler, req), request.secure)

        return route

    async def static_route(request: web.Request) -> web.Response:
        found = static.get(request.match_info["name"])
        if found is None:
            raise HttpError(404, "no such file")
        resp = web.Response(body=found[0])
        resp.headers["Content-Type"] = found[1]
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    async def status_json(request: web.Request) -> web.Response:
        viewer = reader(request)
        parse_query(request.query.items())  # takes none
        view = await backend.status()
        view = replace(view, circuits=tuple(c for c in view.circuits if viewer.sees(c.id)))
        return _json(json.loads(json.dumps(asdict(view), default=str)))

    async def metrics_route(request: web.Request) -> web.Response:
        if metrics is None or reader(request).customer is not None:
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
        viewer = reader(request)
        parse_query(request.query.items())  # takes none
        return _json([c for c in await backend.circuits() if viewer.sees(c["id"])])

    async def cluster(request: web.Request) -> web.Response:
        viewer = reader(request)
        parse_query(request.query.items())  # takes none
        if viewer.customer is not None:
            raise HttpError(404, "the cluster is the operator's")
        return _json(await backend.cluster())

    async def incidents(request: web.Request) -> web.Response:
        viewer = reader(request)
        q = parse_query(request.query.items(), ("circuit", "from", "to"))
        start, end = parse_time(q.get("from"), "from"), parse_time(q.get("to"), "to")
        check_range(start, end)
        found = await backend.incidents(seen(viewer, q.get("circuit") or None), start, end)
        return _json([i for i in found if viewer.sees(i["circuit"])])

    async def incident(request: web.Request) -> web.Response:
        viewer = reader(request)
        parse_query(request.query.items())  # takes none
        found = await backend.incident(_int_id(request))
        if found is None or not viewer.sees(found["circuit"]):
            raise HttpError(404, f"no incident {request.match_info['id']}", "id")
        return _json(found)

    async def sla(request: web.Request) -> web.Response:
        viewer = reader(request)
        month = parse_query(request.query.items(), ("month",)).get("month", "")
        try:
            parse_month(month)
        except InputError as exc:
            raise HttpError(400, f"month: {exc}", "month") from None
        data = await backend.sla(month)
        for key in ("circuits", "incidents"):
            data[key] = [x for x in data[key] if viewer.sees(x["circuit"])]
        return _json(data)

    async def maintenance(request: web.Request) -> web.Response:
        authorise(request)
        fields = frozenset({"circuit", "start", "end", "note", "announced_at", "by"})
        data = await _body(request, fields)
        start = parse_time(text_field(data, "start"), "start", day=False)
        end = parse_time(text_field(data, "end"), "end", day=False)
        assert start is not None and end is not None
        try:
            check_window(start, end)
        except BoundsError as exc:
            raise HttpError(400, str(exc), exc.field) from None
        announced = parse_time(
            text_field(data, "announced_at", required=False), "announced_at", day=False
        )
        created = await backend.add_maintenance(
            text_field(data, "circuit"),
            start,
            end,
            text_field(data, "note", required=False),
            announced_at=announced,
            by=text_field(data, "by", required=False) or f"api {request.remote or ''}".strip(),
        )
        return _json(created, 201)

    async def maintenance_list(request: web.Request) -> web.Response:
        viewer = reader(request)
        q = parse_query(request.query.items(), ("circuit",))
        found = await backend.maintenance(seen(viewer, q.get("circuit") or None))
        return _json([w for w in found if viewer.sees(w["circuit"])])

    async def maintenance_remove(request: web.Request) -> web.Response:
        authorise(request)
        return _json(await backend.remove_maintenance(_int_id(request)))

    async def exclude(request: web.Request) -> web.Response:
        authorise(request)
        incident_id = _int_id(request)
        reason = text_field(await _body(request, frozenset({"reason"})), "reason")
        return _json(await backend.exclude(incident_id, reason))

    async def withdraw_exclusion(request: web.Request) -> web.Response:
        authorise(request)
        incident_id = _int_id(request)
        reason = text_field(await _body(request, frozenset({"reason"})), "reason")
        return _json(await backend.withdraw_exclusion(incident_id, reason))

    app = web.Application(middlewares=[_errors, _busy], client_max_size=MAX_BODY)
    app[LIMITS] = limits or Limits()
    app[BUSY] = set()
    app[GATE] = gate
    app.on_response_prepare.append(_secure_headers)
    for method, path, handler in ui.routes():  # add_get: HEAD too, as on every GET route
        if method == "GET":
            app.router.add_get(path, page_route(handler))
        else:
            app.router.add_route(method, path, page_route(handler))
    app.router.add_get("/static/{name}", static_route)
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
    app.router.add_post("/api/incidents/{id}/exclude/withdraw", withdraw_exclusion)
    return app


def _first(query: Any) -> dict[str, str]:
    """A query's first value for each name."""
    return {key: query.get(key) for key in query}
