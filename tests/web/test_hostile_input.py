"""Hostile HTTP input against the real backend (a daemon over a real journal), over a socket.

Issue 10, items 4, 7, 8 and 13: every answer is a JSON 4xx, never a 500; nothing changes
when a request is refused; a body that arrives in two TCP segments is read whole.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.core.model import MaintenanceWindow
from monitor.web import make_app
from tests.service.harness import Harness

TOKEN = "s3cret-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WINDOW = {
    "circuit": "c1",
    "start": "2026-10-08T01:00:00+09:00",
    "end": "2026-10-08T03:00:00+09:00",
    "note": "fibre work",
}

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[Client, Harness]]:
    h = Harness(tmp_path)
    await h.start()
    try:
        async with TestClient(TestServer(make_app(h.backend, None, token=TOKEN))) as c:
            yield c, h
    finally:
        await h.stop()


async def raw(
    client: Client, request: bytes, *then: bytes, started: asyncio.Event | None = None
) -> tuple[int, dict[str, str], Any]:
    """Send ``request`` on a fresh connection, then each of ``then`` as its own segment once
    ``started`` says the server is handling the request; the status, headers and JSON body."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        for segment in then:
            assert started is not None
            await asyncio.wait_for(started.wait(), 10)
            writer.write(segment)
            await writer.drain()
        head, _, body = (await asyncio.wait_for(reader.read(), 10)).partition(b"\r\n\r\n")
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


async def test_a_body_in_two_segments_is_read_whole(tmp_path: Path) -> None:
    """The second segment is sent only once the handler runs with the first in hand (the
    old code read what had arrived and parsed half a body)."""
    h = Harness(tmp_path)
    await h.start()
    app = make_app(h.backend, None, token=TOKEN)
    started = asyncio.Event()

    @web.middleware
    async def signal(request: web.Request, handler: Any) -> web.StreamResponse:
        started.set()
        return await handler(request)

    app.middlewares.append(signal)
    try:
        async with TestClient(TestServer(app)) as c:
            body = json.dumps(WINDOW).encode()
            head = (
                f"POST /api/maintenance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            status, _, answer = await raw(c, head + body[:20], body[20:], started=started)
            assert status == 201, answer
            assert answer["note"] == "fibre work"
    finally:
        await h.stop()


@pytest.mark.parametrize(
    ("method", "url", "status", "field"),
    [
        ("GET", "/api/incidents/%C2%B2", 400, "id"),  # superscript two: str.isdigit() says yes
        ("GET", "/api/incidents/99999999999999999999999", 400, "id"),  # beyond SQLite's int
        ("GET", "/api/incidents/%D9%A3", 400, "id"),  # Arabic-Indic three
        ("GET", "/api/incidents/-1", 400, "id"),
        ("POST", "/api/incidents/%EF%BC%91/exclude", 400, "id"),  # full-width one
        ("GET", "/api/sla?month=0000-01", 400, "month"),
        ("GET", "/api/sla?month=9999-12", 400, "month"),
        ("GET", "/api/sla?month=%D9%A2%D9%A0%D9%A2%D9%A6-10", 400, "month"),
        ("GET", "/api/incidents?from=0001-01-01T00:00:00%2B09:00", 400, "from"),
        ("GET", "/api/incidents?to=9999-12-31T23:59:59-05:00", 400, "to"),
    ],
)
async def test_odd_ids_months_and_times_are_4xx(
    live: tuple[Client, Harness], method: str, url: str, status: int, field: str
) -> None:
    c, _ = live
    r = await c.request(method, url, headers=AUTH, json={"reason": "x"})
    body = await r.json()
    assert r.status == status, body
    assert body["field"] == field and body["error"]


async def test_non_ascii_digits_never_name_a_window(live: tuple[Client, Harness]) -> None:
    c, h = live
    for _ in range(3):
        assert (await c.post("/api/maintenance", json=WINDOW, headers=AUTH)).status == 201
    r = await c.delete("/api/maintenance/%D9%A3", headers=AUTH)  # "٣": int() reads 3
    assert r.status == 400 and (await r.json())["field"] == "id"
    assert len(await h.backend.maintenance("c1")) == 3  # window 3 is still there


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"[" * 30_000, 400, None),  # nesting deeper than the parser's recursion limit
        (b'{"reason": ' + b"1" * 5_000 + b"}", 400, None),  # an int too long to convert
        (b'{"reason": "x", "reasons": "y"}', 400, "reasons"),  # an unknown field
        (b'{"reason": "\\ud800"}', 400, "reason"),  # a lone surrogate cannot be stored
    ],
)
async def test_hostile_bodies_are_4xx_and_change_nothing(
    live: tuple[Client, Harness], body: bytes, status: int, field: str | None
) -> None:
    c, h = live
    incident = await _an_incident(h)
    r = await c.post(
        f"/api/incidents/{incident}/exclude",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    answer = await r.json()
    assert r.status == status, answer
    assert answer["field"] == field
    assert (await h.backend.incident(incident) or {})["excluded"] is None


async def _an_incident(h: Harness) -> int:
    h.prober.ok = False
    incident = await h.until(lambda: h.backend.sup.tracker.open_incident("c1"))
    h.prober.ok = True
    assert h.daemon is not None
    await h.daemon.writer.drained()  # in the journal too: the test reads it back from there
    return int(incident.id)


async def test_unknown_fields_are_named(live: tuple[Client, Harness]) -> None:
    c, h = live
    r = await c.post("/api/maintenance", json={**WINDOW, "until": "tomorrow"}, headers=AUTH)
    body = await r.json()
    assert r.status == 400 and body["field"] == "until" and "until" in body["error"]
    assert await h.backend.maintenance("c1") == []


async def test_invalid_utf8_in_authorization_is_401(live: tuple[Client, Harness]) -> None:
    c, _ = live
    request = (
        b"DELETE /api/maintenance/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer \xff\xfe\xc3\r\n\r\n"
    )
    status, _, body = await raw(c, request)
    assert status == 401 and body["error"]


async def test_the_bearer_scheme_is_case_insensitive(live: tuple[Client, Harness]) -> None:
    c, _ = live
    for scheme in ("bearer", "BEARER", "Bearer"):
        auth = {"Authorization": f"{scheme} {TOKEN}"}
        r = await c.post("/api/maintenance", json=WINDOW, headers=auth)
        assert r.status == 201, (scheme, await r.text())
    auth = {"Authorization": f"Basic {TOKEN}"}
    assert (await c.post("/api/maintenance", json=WINDOW, headers=auth)).status == 401


async def test_every_answer_carries_csp_and_nosniff(live: tuple[Client, Harness]) -> None:
    c, _ = live
    for url in ("/", "/api/circuits", "/api/incidents/abc", "/healthz", "/no/such/route"):
        r = await c.get(url)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", url
        policy = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, url
    page = await c.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "script-src 'self';" in policy


# -- maintenance windows: sane dates in, total views out ------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "start"),
        ("0001-01-01", "9999-12-31", "start"),
        ("2026-10-08T01:00:00+09:00", "9999-12-31T23:59:59-05:00", "end"),
        ("1999-12-31T00:00:00+00:00", "2000-01-02T00:00:00+00:00", "start"),
        ("2026-10-08T01:00:00+09:00", "2100-01-01T00:00:01+00:00", "end"),
        ("2026-01-01T00:00:00+09:00", "2027-01-03T00:00:00+09:00", "end"),  # over a year
    ],
)
async def test_absurd_windows_are_refused_and_not_stored(
    live: tuple[Client, Harness], start: str, end: str, field: str
) -> None:
    c, h = live
    r = await c.post("/api/maintenance", json={**WINDOW, "start": start, "end": end}, headers=AUTH)
    body = await r.json()
    assert r.status == 400 and body["field"] == field, body
    assert await h.backend.maintenance("c1") == []
    assert (await c.get("/")).status == 200


async def test_a_window_stored_by_an_older_version_never_breaks_a_view(tmp_path: Path) -> None:
    """0001-01-01..9999-12-31 in the journal (as an older version stored it): the page, the
    list and the month answer 200, also after a restart, and the window can be withdrawn."""
    h = Harness(tmp_path)
    await h.start()
    assert h.daemon is not None
    absurd = MaintenanceWindow(
        start=datetime(1, 1, 1, tzinfo=UTC),
        end=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        note="from an older version",
    )
    stored = await h.ask(lambda s: s.add_window("c1", absurd, "api", h.clock()))
    wid = stored.id
    await h.stop()
    for _ in range(2):  # a restart, then another: the row is still there each time
        await _views_answer(Harness(tmp_path), wid)
    h = Harness(tmp_path)
    await h.start()
    try:
        async with TestClient(TestServer(make_app(h.backend, None, token=TOKEN))) as c:
            assert (await c.delete(f"/api/maintenance/{wid}", headers=AUTH)).status == 200
            assert await (await c.get("/api/maintenance")).json() == []
    finally:
        await h.stop()


async def _views_answer(h: Harness, wid: int) -> None:
    await h.start()
    try:
        async with TestClient(TestServer(make_app(h.backend, None, token=TOKEN))) as c:
            for url in ("/", "/api/maintenance", "/api/status", "/api/sla?month=2026-10"):
                r = await c.get(url)
                assert r.status == 200, (url, await r.text())
            [listed] = await (await c.get("/api/maintenance")).json()
            assert listed["id"] == wid and listed["start"].startswith("2000-01-01")
            h.prober.ok = False  # an outage inside the window: its deadline is sane
            await h.until(lambda: h.backend.sup.tracker.open_incident("c1"))
            assert (await c.get("/")).status == 200
    finally:
        await h.stop()
