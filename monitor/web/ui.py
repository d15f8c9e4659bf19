"""The pages: handlers over plain :class:`~monitor.web.exchange.Request` values, drawn with
the Jinja2 templates in ``templates/`` (autoescape on, through ``monitor.html``).

    GET  /                               overview of every circuit the viewer sees
    GET  /circuits/{id}                  a circuit: matrix, RTT sparklines, this month, windows
    POST /circuits/{id}/maintenance      announce a window (operator)
    POST /maintenance/{id}/remove        withdraw an announced window (operator)
    GET  /incidents/{id}                 an incident: figures, deadline and outcome, timeline
    POST /incidents/{id}/exclude         exclude it (operator)
    GET  /months, /months/{month}        a month's report figures per circuit (?circuit=)
    GET  /months/{month}/report.{fmt}    the report as ``slawatch report`` writes it (csv, json,
                                         pdf; ?lang=ja|en, ?circuit=)
    GET  /signin, POST /signin, POST /signout

Who sees and may do what is auth.py's security model; every handler asks :meth:`UI._visible`
before it shows anything of a circuit, so another customer's circuit is a 404 everywhere.
A change is answered 303 to the page it was made on, with a one-line message there.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from monitor import html
from monitor.core.errors import InputError, MonitorError, NotFoundError
from monitor.core.health import Health
from monitor.core.report import parse_month
from monitor.web.auth import SESSION_COOKIE, SIGNIN_COOKIE, Customer, Gate, Role, Viewer, same
from monitor.web.backend import Backend
from monitor.web.exchange import (
    Cookie,
    HttpError,
    Reply,
    Request,
    parse_int_id,
    parse_local,
    redirect,
    text_field,
)
from monitor.web.format import Fmt, Lang, zone
from monitor.web.lines import line

LANG_COOKIE = "slawatch_lang"
RELOAD_S = 10
"""The overview reloads itself this often (seconds) when the script runs."""
DOWNLOADS = ("csv", "json", "pdf")

Handler = Callable[[Request, Viewer], Awaitable[Reply]]


class UI:
    """The pages over ``backend``, for whoever ``gate`` says is asking."""

    def __init__(self, backend: Backend, gate: Gate, wall: Callable[[], datetime]) -> None:
        self.backend, self.gate, self.wall = backend, gate, wall

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/", self.overview),
            ("GET", "/circuits/{id}", self.circuit),
            ("POST", "/circuits/{id}/maintenance", self.add_window),
            ("POST", "/maintenance/{id}/remove", self.remove_window),
            ("GET", "/incidents/{id}", self.incident),
            ("POST", "/incidents/{id}/exclude", self.exclude),
            ("GET", "/months", self.this_month),
            ("GET", "/months/{month}", self.month),
            ("GET", "/months/{month}/report.{fmt}", self.download),
            ("GET", "/signin", self.signin_form),
            ("POST", "/signin", self.sign_in),
            ("POST", "/signout", self.sign_out),
        ]

    # -- the frame every page shares -------------------------------------------------------
    async def handle(self, handler: Handler, req: Request) -> Reply:
        """Run ``handler`` for whoever asks; refusals become an error page."""
        started = time.perf_counter()
        viewer = self.gate.viewer(session_id=req.cookies.get(SESSION_COOKIE))
        try:
            if (
                viewer.role is Role.ANONYMOUS
                and self.gate.closed
                and handler not in (self.signin_form, self.sign_in)
            ):
                reply = (
                    redirect("/signin")
                    if req.method == "GET"
                    else self._refuse(req, viewer, HttpError(403, "sign in first"))
                )
            else:
                reply = await handler(req, viewer)
        except HttpError as exc:
            reply = self._refuse(req, viewer, exc)
        except InputError as exc:
            status = 404 if isinstance(exc, NotFoundError) else 400
            reply = self._refuse(req, viewer, HttpError(status, str(exc), exc.field))
        except MonitorError as exc:
            reply = self._refuse(req, viewer, HttpError(503, str(exc)))
        took = (time.perf_counter() - started) * 1000
        return Reply(
            status=reply.status,
            body=reply.body,
            content_type=reply.content_type,
            headers=(*reply.headers, ("Server-Timing", f"app;dur={took:.1f}")),
            cookies=(*reply.cookies, *self._lang_cookie(req)),
        )

    def _refuse(self, req: Request, viewer: Viewer, exc: HttpError) -> Reply:
        titles = {400: "Bad request", 403: "Not allowed", 404: "Not found"}
        return self.page(
            req,
            viewer,
            "error.html",
            status=exc.status,
            code=exc.status,
            message=exc.message,
            title=titles.get(exc.status, "Unavailable"),
        )

    def page(
        self, req: Request, viewer: Viewer, template: str, *, status: int = 200, **values: Any
    ) -> Reply:
        """``template`` with what every page shows: who is signed in, the language, the
        CSRF token for its forms, and the session's message."""
        fmt = Fmt(self._lang(req))
        session = viewer.session
        flash = self.gate.sessions.take_flash(session.id) if session else ""
        if "title" in values:
            values["title"] = fmt.t(values["title"])
        body = html.render(
            "monitor.web",
            template,
            fmt=fmt,
            t=fmt.t,
            lang=fmt.lang,
            viewer=viewer,
            csrf=session.csrf if session else "",
            flash=flash,
            here=req.path,
            changes=viewer.operator and session is not None,
            now=self.wall(),
            zone=values.pop("zone", "UTC"),
            blind=values.pop("blind", False),
            reload=values.pop("reload", 0),
            **values,
        )
        return Reply(status=status, body=body, headers=(("Cache-Control", "no-store"),))

    def _lang(self, req: Request) -> Lang:
        asked = req.query.get("lang") or req.cookies.get(LANG_COOKIE)
        if asked in ("ja", "en"):
            return "ja" if asked == "ja" else "en"
        return "ja" if req.accept_language.lower().startswith("ja") else "en"

    def _lang_cookie(self, req: Request) -> tuple[Cookie, ...]:
        asked = req.query.get("lang")
        return (Cookie(name=LANG_COOKIE, value=asked),) if asked in ("ja", "en") else ()

    def _visible(self, viewer: Viewer, circuit: str) -> None:
        """404 unless ``viewer`` may see ``circuit`` (never 403: it does not exist for it)."""
        if not viewer.sees(circuit):
            raise HttpError(404, f"no circuit {circuit!r}", "id")

    def _owners(self) -> dict[str, Customer]:
        return {c: cust for cust in self.gate.customers() for c in cust.circuits}

    def _may_change(self, req: Request, viewer: Viewer) -> None:
        """403 unless an operator's session sent its form's CSRF token."""
        session = viewer.session
        if session is None:
            raise HttpError(403, "sign in as the operator to change anything")
        if not same(req.form.get("csrf", ""), session.csrf):
            raise HttpError(403, "the form's CSRF token is missing or wrong: reload the page")

    def _operator(self, viewer: Viewer) -> None:
        if not viewer.operator:
            raise HttpError(403, "only the operator changes maintenance and exclusions")

    # -- reading ---------------------------------------------------------------------------------
    async def overview(self, req: Request, viewer: Viewer) -> Reply:
        ov = await self.backend.overview()
        owners = self._owners()
        rows = [r for r in ov.rows if viewer.sees(r.id)]
        counts = Counter(r.health for r in rows)
        q = req.query.get("q", "").strip()[:100]
        state = req.query.get("state", "")
        customer = req.query.get("customer", "")
        needle = q.casefold()
        shown = [
            r
            for r in rows
            if (not state or r.health == state)
            and (not customer or (r.id in owners and owners[r.id].id == customer))
            and (
                not needle
                or needle in r.id.casefold()
                or (
                    r.id in owners and needle in f"{owners[r.id].id} {owners[r.id].name}".casefold()
                )
            )
        ]
        fmt = Fmt(self._lang(req))
        names = {c: cust.name for c, cust in owners.items()}
        lines = [line(r, fmt, names.get(r.id, ""), ov.generated_at) for r in shown]
        down = counts[Health.UNAVAILABLE]
        title = "slawatch: all available" if not down else "slawatch: circuits down"
        return self.page(
            req,
            viewer,
            "overview.html",
            title=title,
            rows=lines,
            total=len(rows),
            counts=counts,
            healths=list(Health),
            q=q,
            state=state,
            customer=customer,
            customers=[] if viewer.customer else self.gate.customers(),
            blind=ov.blind,
            reload=RELOAD_S,
            t_since=fmt.t("since"),
            t_notified=fmt.t("notified"),
            t_left=fmt.t("left"),
            t_missed=fmt.t("missed by"),
        )

    async def circuit(self, req: Request, viewer: Viewer) -> Reply:
        cid = req.params["id"]
        self._visible(viewer, cid)
        found = await self.backend.circuit_page(cid)
        if found is None:
            raise HttpError(404, f"no circuit {cid!r}", "id")
        owner = self._owners().get(cid)
        paths = {(d.status.router, d.status.demarc): d for d in found.paths}
        return self.page(
            req,
            viewer,
            "circuit.html",
            title=cid,
            c=found,
            paths=paths,
            owner_name=owner.name if owner else "",
            zone=found.timezone,
        )

    async def incident(self, req: Request, viewer: Viewer) -> Reply:
        iid = parse_int_id(req.params["id"])
        found = await self.backend.incident_page(iid)
        if found is None or not viewer.sees(found.circuit):
            raise HttpError(404, f"no incident {iid}", "id")
        owner = self._owners().get(found.circuit)
        return self.page(
            req,
            viewer,
            "incident.html",
            title=f"#{iid}",
            p=found,
            fee_yen=found.fee_yen,
            owner_name=owner.name if owner else "",
            zone=found.timezone,
        )

    def _scope(self, req: Request, viewer: Viewer) -> tuple[str, list[str] | None]:
        """The month asked for and the circuits to show (``?circuit=`` or the viewer's)."""
        month = req.params.get("month", "")
        try:
            parse_month(month)
        except InputError as exc:
            raise HttpError(404, f"month: {exc}", "month") from None
        circuit = req.query.get("circuit", "")
        if circuit:
            self._visible(viewer, circuit)
            return month, [circuit]
        return month, viewer.scope

    async def this_month(self, req: Request, viewer: Viewer) -> Reply:
        return redirect(f"/months/{self.wall().strftime('%Y-%m')}")

    async def month(self, req: Request, viewer: Viewer) -> Reply:
        month, circuits = self._scope(req, viewer)
        report = await self.backend.month(month, circuits)
        if circuits is not None and req.query.get("circuit") and not report.circuits:
            raise HttpError(404, f"no circuit {req.query['circuit']!r}", "circuit")
        year, mon = parse_month(month)
        n = year * 12 + mon - 1
        circuit = req.query.get("circuit", "")
        suffix = f"?circuit={circuit}" if circuit else ""
        return self.page(
            req,
            viewer,
            "month.html",
            title=month,
            report=report,
            circuit=circuit,
            prev=f"{(n - 1) // 12:04d}-{(n - 1) % 12 + 1:02d}",
            next=f"{(n + 1) // 12:04d}-{(n + 1) % 12 + 1:02d}",
            suffix=suffix,
            dl_suffix=f"?lang={self._lang(req)}" + (f"&circuit={circuit}" if circuit else ""),
            owner={c: cust.name for c, cust in self._owners().items()},
        )

    async def download(self, req: Request, viewer: Viewer) -> Reply:
        fmt = req.params["fmt"]
        if fmt not in DOWNLOADS:
            raise HttpError(404, f"no report format {fmt!r}; take {', '.join(DOWNLOADS)}", "fmt")
        month, circuits = self._scope(req, viewer)
        if circuits is not None and req.query.get("circuit"):
            self._visible(viewer, circuits[0])
            if not (await self.backend.month(month, circuits)).circuits:
                raise HttpError(404, f"no circuit {circuits[0]!r}", "circuit")
        got = await self.backend.download(month, fmt, self._lang(req), circuits)
        return Reply(
            body=got.body,
            content_type=got.content_type,
            headers=(
                ("Content-Disposition", f'attachment; filename="{got.filename}"'),
                ("Cache-Control", "no-store"),
            ),
        )

    # -- changing --------------------------------------------------------------------------------
    async def add_window(self, req: Request, viewer: Viewer) -> Reply:
        self._may_change(req, viewer)
        cid = req.params["id"]
        self._visible(viewer, cid)
        self._operator(viewer)
        found = await self.backend.circuit_page(cid)
        if found is None:
            raise HttpError(404, f"no circuit {cid!r}", "id")
        back = f"/circuits/{cid}"
        session = viewer.session
        assert session is not None
        try:
            start = parse_local(text_field(req.form, "start"), "start", zone(found.timezone))
            end = parse_local(text_field(req.form, "end"), "end", zone(found.timezone))
            told = parse_local(req.form.get("announced_at"), "announced_at", zone(found.timezone))
            assert start is not None and end is not None
            made = await self.backend.add_maintenance(
                cid,
                start,
                end,
                text_field(req.form, "note", required=False),
                "web",
                announced_at=told,
                by=f"web {req.remote}".strip(),
            )
        except (HttpError, InputError) as exc:
            self.gate.sessions.flash(session.id, _message(exc))
            return redirect(back)
        self.gate.sessions.flash(session.id, f"maintenance window {made['id']} added")
        return redirect(back)

    async def remove_window(self, req: Request, viewer: Viewer) -> Reply:
        self._may_change(req, viewer)
        wid = parse_int_id(req.params["id"])
        if not viewer.operator:  # a customer knows no window by id: none exists for it
            raise HttpError(404, f"no announced maintenance window {wid}", "id")
        removed = await self.backend.remove_maintenance(wid)
        session = viewer.session
        assert session is not None
        self.gate.sessions.flash(session.id, f"maintenance window {wid} removed")
        return redirect(f"/circuits/{removed['circuit']}")

    async def exclude(self, req: Request, viewer: Viewer) -> Reply:
        self._may_change(req, viewer)
        iid = parse_int_id(req.params["id"])
        found = await self.backend.incident_page(iid)
        if found is None or not viewer.sees(found.circuit):
            raise HttpError(404, f"no incident {iid}", "id")
        self._operator(viewer)
        session = viewer.session
        assert session is not None
        try:
            await self.backend.exclude(iid, text_field(req.form, "reason"))
        except (HttpError, InputError) as exc:
            self.gate.sessions.flash(session.id, _message(exc))
            return redirect(f"/incidents/{iid}")
        self.gate.sessions.flash(session.id, f"incident {iid} excluded")
        return redirect(f"/incidents/{iid}")

    # -- signing in and out ----------------------------------------------------------------------
    async def signin_form(self, req: Request, viewer: Viewer) -> Reply:
        nonce = secrets.token_urlsafe(32)
        reply = self.page(req, viewer, "signin.html", title="Sign in", signin_csrf=nonce)
        return Reply(
            status=reply.status,
            body=reply.body,
            headers=reply.headers,
            cookies=(Cookie(name=SIGNIN_COOKIE, value=nonce, max_age=3600),),
        )

    async def sign_in(self, req: Request, viewer: Viewer) -> Reply:
        if not same(req.form.get("csrf", ""), req.cookies.get(SIGNIN_COOKIE, "")):
            raise HttpError(403, "the sign-in form's CSRF token is missing or wrong: reload it")
        session = self.gate.sign_in(req.form.get("token", ""))
        if session is None:
            raise HttpError(403, "that token signs no one in")
        if viewer.session is not None:
            self.gate.sessions.close(viewer.session.id)
        return redirect(
            "/",
            Cookie(name=SESSION_COOKIE, value=session.id),
            Cookie(name=SIGNIN_COOKIE, value="", max_age=0),
        )

    async def sign_out(self, req: Request, viewer: Viewer) -> Reply:
        session = viewer.session
        if session is not None:
            if not same(req.form.get("csrf", ""), session.csrf):
                raise HttpError(403, "the form's CSRF token is missing or wrong: reload the page")
            self.gate.sessions.close(session.id)
        return redirect("/signin", Cookie(name=SESSION_COOKIE, value="", max_age=0))


def _message(exc: HttpError | InputError) -> str:
    return exc.message if isinstance(exc, HttpError) else str(exc)
