"""The pages' security model (monitor/web/auth.py) over a real daemon: CSRF, cookie flags,
escaping of every field that reaches a page, and customer isolation on every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.core.inputs import SnmpReading, SnmpSeen
from monitor.core.model import Demarc, PathKey, Router
from monitor.web import make_app
from tests.web.site import (
    CUSTOMERS,
    ESCAPED,
    HOSTILE,
    TOKEN,
    TOKEN_A,
    TOKEN_B,
    Client,
    Site,
    csrf_of,
    sign_in,
    text,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIN = timedelta(minutes=1)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Client, Site, dict[str, str]]]:
    """A daemon with an incident on c-a1 and on c-b1, a window on each (notes hostile), and
    SNMP evidence with hostile text on c-b1; ``tokens`` is mutable (rotation)."""
    s = Site(tmp_path)
    d = await s.start()
    tokens = {"api": TOKEN}
    app = make_app(s.backend, s.metrics, token=lambda: tokens["api"], customers=CUSTOMERS,
                   wall=s.clock)  # fmt: skip
    try:
        async with TestClient(TestServer(app)) as c:
            for circuit in ("c-a1", "c-b1"):
                s.prober.cut(circuit)  # type: ignore[attr-defined]
                await s.until(lambda circuit=circuit: d.sup.tracker.open_incident(circuit))
                start = s.clock() + timedelta(hours=1)
                await s.backend.add_maintenance(circuit, start, start + MIN * 60, HOSTILE,
                                                by=HOSTILE)  # fmt: skip
            path = PathKey(circuit="c-b1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
            d.feed(SnmpSeen(readings=(SnmpReading(path=path, at=s.clock(), kind="ifOperStatus",
                                                  ok=False, value=2, text=HOSTILE),)))  # fmt: skip
            s.travel(5 * MIN)
            await d.writer.drained()  # the incidents in the journal too: the pages read it
            yield c, s, tokens
    finally:
        await s.stop()


def ids(s: Site) -> dict[str, str]:
    """Customer b's things, by the route parameter that names them."""
    assert s.daemon is not None
    tracker = s.daemon.sup.tracker
    b = tracker.open_incident("c-b1")
    assert b is not None
    windows = [w.id for w in s.daemon.sup.windows("c-b1") if w.id is not None]
    return {"circuit": "c-b1", "incident": str(b.id), "window": str(windows[0])}


# -- CSRF and cookies ----------------------------------------------------------------------------
async def test_forms_without_their_csrf_token_change_nothing(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    c, s, _ = site
    csrf = await sign_in(c, TOKEN)
    b = ids(s)
    window = {"start": "2026-10-08T10:00", "end": "2026-10-08T11:00", "note": "x"}
    posts = [
        ("/circuits/c-a1/maintenance", window),
        (f"/incidents/{b['incident']}/exclude", {"reason": "customer power"}),
        (f"/maintenance/{b['window']}/remove", {}),
        ("/signout", {}),
    ]
    for path, form in posts:
        for token in (None, "", csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
            data = form if token is None else {**form, "csrf": token}
            r = await c.post(path, data=data, allow_redirects=False)
            assert r.status == 403, (path, token, r.status)
            assert "CSRF" in await r.text()
    assert len(await s.backend.maintenance(None)) == 2
    assert (await s.backend.incident(int(b["incident"])))["excluded"] is None  # type: ignore[index]
    await text(c, "/circuits/c-a1")  # still signed in
    # the same form with its token works: the refusals were the token's doing
    r = await c.post("/circuits/c-a1/maintenance", data={**window, "csrf": csrf},
                     allow_redirects=False)  # fmt: skip
    assert r.status == 303 and len(await s.backend.maintenance(None)) == 3


async def test_sign_in_needs_its_form_token_and_a_right_token(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    c, _, _ = site
    form = await text(c, "/signin")
    r = await c.post("/signin", data={"token": TOKEN}, allow_redirects=False)
    assert r.status == 403  # no CSRF token: a cross-site sign-in is refused
    r = await c.post("/signin", data={"csrf": csrf_of(form), "token": TOKEN_A + "x"},
                     allow_redirects=False)  # fmt: skip
    assert r.status == 403 and "slawatch_session" not in r.headers.getall("Set-Cookie", [""])[0]
    # a browser says where a form came from: another site's is refused, ours is taken
    r = await c.post(
        "/signin",
        data={"csrf": csrf_of(form), "token": TOKEN},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert r.status == 403
    origin = f"http://{c.host}:{c.port}"
    r = await c.post(
        "/signin",
        data={"csrf": csrf_of(form), "token": TOKEN},
        headers={"Origin": origin},
        allow_redirects=False,
    )
    assert r.status == 303


async def test_cookie_flags(site: tuple[Client, Site, dict[str, str]]) -> None:
    c, _, _ = site
    r = await c.get("/signin?lang=ja")
    cookies = r.headers.getall("Set-Cookie")
    form = await r.text()
    r = await c.post("/signin", data={"csrf": csrf_of(form), "token": TOKEN_A},
                     allow_redirects=False)  # fmt: skip
    cookies += r.headers.getall("Set-Cookie")
    names = {h.split("=", 1)[0] for h in cookies}
    assert {"slawatch_session", "slawatch_signin", "slawatch_lang"} <= names
    for header in cookies:
        flags = {f.strip().lower() for f in header.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags, header
    [session] = [h for h in cookies if h.startswith("slawatch_session=")]
    assert len(session.split(";")[0].split("=", 1)[1]) >= 43  # 256 random bits


async def test_a_rotated_token_ends_its_sessions(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    c, _, tokens = site
    await sign_in(c, TOKEN)
    await text(c, "/circuits/c-b1")
    tokens["api"] = "rotated-token-0123456789abcdef"
    r = await c.get("/circuits/c-b1", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/signin"


# -- escaping ------------------------------------------------------------------------------------
async def test_hostile_text_is_escaped_on_every_page(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    """Customer names, window notes and who recorded them, SNMP evidence, exclusion reasons,
    the search box, error messages and form messages."""
    c, s, _ = site
    csrf = await sign_in(c, TOKEN)
    b = ids(s)
    r = await c.post(f"/incidents/{b['incident']}/exclude", data={"csrf": csrf, "reason": HOSTILE},
                     allow_redirects=False)  # fmt: skip
    assert r.status == 303
    bad = {"csrf": csrf, "start": HOSTILE, "end": "2026-10-08T11:00"}
    r = await c.post("/circuits/c-a1/maintenance", data=bad, allow_redirects=False)
    pages = {
        "/": "Alpha " + ESCAPED,
        "/?q=" + HOSTILE: ESCAPED,
        "/circuits/c-a1": ESCAPED,  # name, note, recorded by
        "/circuits/c-b1": "ifOperStatus: " + ESCAPED,
        f"/incidents/{b['incident']}": ESCAPED,  # reason, SNMP in the timeline, note
        "/months/2026-10": "Alpha " + ESCAPED,
    }
    for path, expected in pages.items():
        body = await text(c, path)
        assert HOSTILE not in body and "<script>" not in body, path
        assert expected in body, path
    incident = await text(c, f"/incidents/{b['incident']}")
    assert incident.count(ESCAPED) >= 2  # the exclusion and the SNMP evidence
    error = await text(c, "/months/" + "%3Cscript%3E", 404)
    assert "<script>" not in error and "&lt;script&gt;" in error


# -- customers -----------------------------------------------------------------------------------
# Every route of the application, and how customer a asks it for customer b's things. "404":
# refused as not existing. "absent": a list, answered without b's things. "401": a route for the
# API token only, which refuses a session whatever it names (so it reveals nothing either).
ROUTES = {
    ("GET", "/"): [("/?q=c-b1", "absent"), ("/?customer=b", "absent")],
    ("GET", "/circuits/{id}"): [("/circuits/{circuit}", "404")],
    ("POST", "/circuits/{id}/maintenance"): [("/circuits/{circuit}/maintenance", "404")],
    ("POST", "/maintenance/{id}/remove"): [("/maintenance/{window}/remove", "404")],
    ("GET", "/incidents/{id}"): [("/incidents/{incident}", "404")],
    ("POST", "/incidents/{id}/exclude"): [("/incidents/{incident}/exclude", "404")],
    ("GET", "/months"): [("/months", "redirect")],
    ("GET", "/months/{month}"): [
        ("/months/2026-10?circuit={circuit}", "404"),
        ("/months/2026-10", "absent"),
    ],
    ("GET", "/months/{month}/report.{fmt}"): [
        ("/months/2026-10/report.csv?circuit={circuit}", "404"),
        ("/months/2026-10/report.json?circuit={circuit}", "404"),
        ("/months/2026-10/report.pdf?circuit={circuit}", "404"),
        ("/months/2026-10/report.csv", "absent"),
        ("/months/2026-10/report.json", "absent"),
    ],
    ("GET", "/signin"): [("/signin", "absent")],
    ("POST", "/signin"): [("/signin", "403")],
    ("POST", "/signout"): [("/signout", "absent-after")],
    ("GET", "/static/{name}"): [("/static/{circuit}", "404"), ("/static/ui.js", "absent")],
    ("GET", "/metrics"): [("/metrics", "404")],
    ("GET", "/healthz"): [("/healthz", "absent")],
    ("GET", "/api/status"): [("/api/status", "absent")],
    ("GET", "/api/circuits"): [("/api/circuits", "absent")],
    ("GET", "/api/cluster"): [("/api/cluster", "404")],
    ("GET", "/api/incidents"): [
        ("/api/incidents?circuit={circuit}", "404"),
        ("/api/incidents", "absent"),
    ],
    ("GET", "/api/incidents/{id}"): [("/api/incidents/{incident}", "404")],
    ("GET", "/api/sla"): [("/api/sla?month=2026-10", "absent")],
    ("POST", "/api/maintenance"): [("/api/maintenance", "401")],
    ("GET", "/api/maintenance"): [
        ("/api/maintenance?circuit={circuit}", "404"),
        ("/api/maintenance", "absent"),
    ],
    ("DELETE", "/api/maintenance/{id}"): [("/api/maintenance/{window}", "401")],
    ("POST", "/api/incidents/{id}/exclude"): [("/api/incidents/{incident}/exclude", "401")],
    ("POST", "/api/incidents/{id}/exclude/withdraw"): [
        ("/api/incidents/{incident}/exclude/withdraw", "401")
    ],
}


def leaks(body: str, b: dict[str, str]) -> list[str]:
    """Marks of customer b's things in a page, JSON or CSV (not the echo of what was asked)."""
    marks = ['/circuits/c-b1"', ">c-b1<", '"circuit": "c-b1"', '"id": "c-b1"', ",c-b1,", "Beta",
             f'/incidents/{b["incident"]}"', f'"id": {b["incident"]},']  # fmt: skip
    return [m for m in marks if m in body]


def app_routes(client: Client) -> set[tuple[str, str]]:
    app = client.server.app
    assert app is not None
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }


async def test_customer_a_cannot_reach_customer_b_on_any_route(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    c, s, _ = site
    assert set(ROUTES) == app_routes(c), "a route is missing from ROUTES: say how it isolates"
    b = ids(s)
    await sign_in(c, TOKEN)  # the operator sees b's things: leaks() finds them
    for path in ("/", "/api/circuits", "/months/2026-10/report.csv", "/api/incidents"):
        assert leaks(await text(c, path), b), path
    csrf = await sign_in(c, TOKEN_A)
    # a's own things are there (the test can fail)
    assert "c-a1" in await text(c, "/") and "c-b1" not in await text(c, "/")
    await text(c, "/circuits/c-a1")
    for (method, _), asks in ROUTES.items():
        for template, expect in asks:
            path = template.format(**b)
            form = {"csrf": csrf, "start": "2026-10-08T10:00", "end": "2026-10-08T11:00",
                    "reason": "x", "token": TOKEN_B}  # fmt: skip
            r = await c.request(method, path, data=form if method != "GET" else None,
                                allow_redirects=False)  # fmt: skip
            body = await r.text()
            what = f"{method} {path}: {r.status}"
            if expect == "404":
                assert r.status == 404, what
            elif expect == "401":
                assert r.status == 401, what
            elif expect == "403":
                assert r.status == 403, what  # a's form token is not the sign-in form's
            elif expect == "redirect":
                assert r.status == 303 and "c-b1" not in r.headers["Location"], what
            else:
                assert r.status in (200, 303), what
            assert not leaks(body, b), f"{what} shows {leaks(body, b)}"
            if expect == "absent-after":
                csrf = await sign_in(c, TOKEN_A)
    # nothing of b's changed
    assert (await s.backend.incident(int(b["incident"])))["excluded"] is None  # type: ignore[index]
    assert len(await s.backend.maintenance("c-b1")) == 1


async def test_with_customers_reading_needs_a_sign_in(
    site: tuple[Client, Site, dict[str, str]],
) -> None:
    c, _, _ = site
    r = await c.get("/circuits/c-a1", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/signin"
    for path in (
        "/api/circuits",
        "/api/status",
        "/api/cluster",
        "/metrics",
        "/api/sla?month=2026-10",
    ):
        assert (await c.get(path)).status == 401, path
        assert (await c.get(path, headers=AUTH)).status == 200, path
    assert (await c.get("/healthz")).status == 200
    assert (await c.get("/static/ui.css")).status == 200


async def test_without_customers_anyone_reads_but_only_the_operator_changes(
    tmp_path: Path,
) -> None:
    s = Site(tmp_path)
    await s.start()
    try:
        app = make_app(s.backend, None, token=TOKEN, wall=s.clock)
        async with TestClient(TestServer(app)) as c:
            page = await text(c, "/circuits/c-a1")
            assert "Announce a maintenance window" not in page  # no form for a reader
            assert (await c.get("/api/circuits")).status == 200
            window = {"start": "2026-10-08T10:00", "end": "2026-10-08T11:00", "csrf": "x"}
            r = await c.post("/circuits/c-a1/maintenance", data=window, allow_redirects=False)
            assert r.status == 403 and await s.backend.maintenance(None) == []
    finally:
        await s.stop()
