"""The HTTP side over a small in-memory backend: routes, errors, auth, escaping.

The real backend (the daemon) is exercised end to end in tests/e2e; here every error path
is driven on purpose, which a live daemon would make slow and indirect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.core.effects import Metric, MetricName
from monitor.core.errors import InputError
from monitor.core.health import Health
from monitor.metrics import Metrics
from monitor.web import make_app
from monitor.web.views import (
    CircuitStatus,
    OpenIncident,
    Overview,
    OverviewRow,
    PathStatus,
    StatusView,
    UpcomingWindow,
)

TOKEN = "s3cret-token-0123456789"
NOW = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


class Backend:
    def __init__(self) -> None:
        self.windows: list[tuple[str, datetime, datetime, str]] = []
        self.excluded: dict[int, str] = {}
        self.seen: list[tuple[Any, ...]] = []

    async def circuits(self) -> list[dict[str, Any]]:
        return [{"id": "c1", "available": False}]

    async def cluster(self) -> dict[str, Any]:
        return {"mode": "single", "nodes": []}

    async def incidents(
        self, circuit: str | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        if circuit == "nope":
            raise InputError("unknown circuit 'nope'")
        self.seen.append((circuit, start, end))
        return [{"id": 1, "circuit": "c1"}]

    async def incident(self, incident_id: int) -> dict[str, Any] | None:
        return {"id": 1, "circuit": "c1", "timeline": []} if incident_id == 1 else None

    async def sla(self, month: str) -> dict[str, Any]:
        return {"month": month, "circuits": [], "incidents": []}

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
    ) -> dict[str, Any]:
        if circuit != "c1":
            raise InputError(f"unknown circuit {circuit!r}")
        if announced_at is not None and announced_at > NOW:
            raise InputError("announced_at is in the future", "announced_at")
        self.windows.append((circuit, start, end, note))
        self.seen.append(("add", announced_at, by))
        return {"id": len(self.windows)}

    async def exclude(self, incident_id: int, reason: str) -> dict[str, Any]:
        self.excluded[incident_id] = reason
        return {"id": incident_id, "excluded": reason}

    async def withdraw_exclusion(self, incident_id: int, reason: str) -> dict[str, Any]:
        was = self.excluded.pop(incident_id)
        return {"id": incident_id, "excluded": None, "withdrawn": {"excluded": was}}

    async def maintenance(self, circuit: str | None) -> list[dict[str, Any]]:
        return [{"id": n + 1, "circuit": w[0], "note": w[3]} for n, w in enumerate(self.windows)]

    async def remove_maintenance(self, window_id: int) -> dict[str, Any]:
        if not 0 < window_id <= len(self.windows):
            raise InputError(f"no announced maintenance window {window_id}")
        return {"id": window_id, "removed": True}

    async def status(self) -> StatusView:
        paths = tuple(
            PathStatus(router=r, demarc=d, state="down", since=NOW, rtt_ms=None)
            for r in ("active", "standby")
            for d in ("primary", "secondary")
        )
        return StatusView(
            generated_at=NOW,
            blind=False,
            circuits=(
                CircuitStatus(
                    id=HOSTILE,
                    timezone="Asia/Tokyo",
                    available=False,
                    paths=paths,
                    incident=OpenIncident(
                        id=7,
                        start=NOW,
                        detected=NOW + timedelta(minutes=2),
                        deadline=NOW + timedelta(minutes=32),
                        notified=None,
                    ),
                    days=tuple((date(2026, 9, 8) + timedelta(days=i), 1.0) for i in range(30)),
                    maintenance=(
                        UpcomingWindow(
                            start=NOW + timedelta(days=1),
                            end=NOW + timedelta(days=1, hours=2),
                            note=f"note {HOSTILE}",
                            announced_at=NOW,
                            late=False,
                        ),
                    ),
                ),
            ),
        )

    async def overview(self) -> Overview:
        [c] = (await self.status()).circuits
        row = OverviewRow(id=c.id, timezone=c.timezone, health=Health.UNAVAILABLE,
                          paths=c.paths, rtt_ms=None, incident=c.incident)  # fmt: skip
        return Overview(generated_at=NOW, blind=False, rows=(row,))

    def healthy(self) -> tuple[bool, str]:
        return True, "ok"


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], Backend]]:
    backend = Backend()
    metrics = Metrics()
    metrics.apply(Metric(name=MetricName.CIRCUIT_AVAILABLE, labels=("c1",), value=0.0))
    async with TestClient(TestServer(make_app(backend, metrics, token=TOKEN))) as c:
        yield c, backend


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_reads(client: tuple[TestClient[Any, Any], Backend]) -> None:
    c, backend = client
    assert (await (await c.get("/api/circuits")).json())[0]["id"] == "c1"
    r = await c.get("/api/incidents?circuit=c1&from=2026-10-01&to=2026-10-07T00:00:00%2B09:00")
    assert r.status == 200
    _, start, end = backend.seen[-1]
    assert start == datetime(2026, 10, 1, tzinfo=UTC) and end.utcoffset() == timedelta(hours=9)
    assert (await c.get("/api/incidents/1")).status == 200
    assert (await (await c.get("/api/sla?month=2026-10")).json())["month"] == "2026-10"
    assert (await (await c.get("/healthz")).json())["ok"] is True
    metrics = await c.get("/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert 'slawatch_circuit_available{circuit="c1"} 0.0' in await metrics.text()


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/incidents?from=yesterday", 400, "from"),
        ("/api/incidents?to=2026-10-07T10:00:00", 400, "to"),  # no offset
        ("/api/incidents?circuit=nope", 400, None),
        ("/api/incidents/abc", 400, "id"),
        ("/api/incidents/2", 404, "id"),
        ("/api/sla?month=2026-13", 400, "month"),
        ("/api/sla", 400, "month"),
        ("/no/such/route", 404, None),
    ],
)
async def test_bad_reads_get_json_errors(
    client: tuple[TestClient[Any, Any], Backend], url: str, status: int, field: str | None
) -> None:
    r = await client[0].get(url)
    assert r.status == status
    body = await r.json()
    assert body["error"] and body["field"] == field


@pytest.mark.parametrize(
    ("url", "field", "says"),
    [
        ("/api/incidents?circut=c1", "circut", "this route takes circuit, from, to"),  # a typo
        ("/api/incidents?since=2026-10-01", "since", "this route takes circuit, from, to"),
        ("/api/incidents?circuit=c1&circuit=c2", "circuit", "given twice"),
        ("/api/incidents?from=2026-12-05&to=2026-12-01", "to", "before from"),
        ("/api/maintenance?circuit=c1&circuit=c1", "circuit", "given twice"),
        ("/api/sla?month=2026-10&circuit=c1", "circuit", "this route takes month"),
        ("/api/circuits?id=c1", "id", "this route takes none"),
        ("/api/incidents/1?full=1", "full", "this route takes none"),
    ],
)
async def test_a_query_the_route_does_not_take_is_400_naming_it(
    client: tuple[TestClient[Any, Any], Backend], url: str, field: str, says: str
) -> None:
    """Unknown query parameters were ignored (``?circut=c1``, a typo, listed every circuit's
    incidents), a repeated one took its first value (``?circuit=c1&circuit=c2`` answered [],
    though c2 had an open incident) and an inverted range answered []: each looked like an
    answer. Bodies were already strict."""
    c, backend = client
    r = await c.get(url)
    body = await r.json()
    assert r.status == 400 and body["field"] == field and says in body["error"], body
    assert backend.seen == []  # refused before the backend was asked


async def test_a_range_of_one_instant_is_taken(
    client: tuple[TestClient[Any, Any], Backend],
) -> None:
    r = await client[0].get("/api/incidents?from=2026-12-01&to=2026-12-01")
    assert r.status == 200


async def test_wrong_method_is_405(client: tuple[TestClient[Any, Any], Backend]) -> None:
    r = await client[0].put("/api/maintenance")
    assert r.status == 405 and "error" in await r.json()


async def test_maintenance_and_exclusion_need_the_token(
    client: tuple[TestClient[Any, Any], Backend],
) -> None:
    c, backend = client
    body = {
        "circuit": "c1",
        "start": "2026-10-08T01:00:00+09:00",
        "end": "2026-10-08T03:00:00+09:00",
        "note": "fibre work",
    }
    assert (await c.post("/api/maintenance", json=body)).status == 401
    assert (
        await c.post("/api/maintenance", json=body, headers={"Authorization": "Bearer wrong"})
    ).status == 401
    r = await c.post("/api/maintenance", json=body, headers=AUTH)
    assert r.status == 201 and backend.windows[0][3] == "fibre work"
    assert backend.seen[-1] == ("add", None, "api 127.0.0.1")  # told now; who: the client
    told = {**body, "announced_at": "2026-10-01T09:00:00+09:00", "by": "duty engineer"}
    assert (await c.post("/api/maintenance", json=told, headers=AUTH)).status == 201
    assert backend.seen[-1] == ("add", datetime(2026, 10, 1, tzinfo=UTC), "duty engineer")
    backend.windows.pop()
    r = await c.post("/api/incidents/1/exclude", json={"reason": "customer power"}, headers=AUTH)
    assert r.status == 200 and backend.excluded == {1: "customer power"}
    listed = await (await c.get("/api/maintenance")).json()  # reading needs no token
    assert listed == [{"id": 1, "circuit": "c1", "note": "fibre work"}]
    assert (await c.delete("/api/maintenance/1")).status == 401
    r = await c.delete("/api/maintenance/1", headers=AUTH)
    assert r.status == 200 and (await r.json())["removed"] is True
    r = await c.delete("/api/maintenance/7", headers=AUTH)
    assert r.status == 400 and "no announced" in (await r.json())["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/maintenance", b"{not json", 400, None),
        ("/api/maintenance", b"[1, 2]", 400, None),
        (
            "/api/maintenance",
            b'{"circuit": "c1", "start": "2026-10-08T03:00:00+09:00", '
            b'"end": "2026-10-08T01:00:00+09:00"}',
            400,
            "end",
        ),
        (
            "/api/maintenance",
            b'{"circuit": "c1", "start": "2026-10-08T01:00:00", '
            b'"end": "2026-10-08T03:00:00+09:00"}',
            400,
            "start",
        ),
        (
            "/api/maintenance",
            b'{"circuit": "zz", "start": "2026-10-08T01:00:00+09:00", '
            b'"end": "2026-10-08T03:00:00+09:00"}',
            400,
            None,
        ),
        ("/api/maintenance", b'{"start": "2026-10-08T01:00:00+09:00"}', 400, "end"),
        (  # a date alone: stored as midnight UTC, 9 hours off a Tokyo circuit's day, before
            "/api/maintenance",
            b'{"circuit": "c1", "start": "2026-12-02", "end": "2026-12-03T00:00+09:00"}',
            400,
            "start",
        ),
        (
            "/api/maintenance",
            b'{"circuit": "c1", "start": "2026-10-08T01:00:00+09:00", '
            b'"end": "2026-10-08T03:00:00+09:00", "announced_at": "2026-10-01T00:00"}',
            400,
            "announced_at",
        ),
        (
            "/api/maintenance",
            b'{"circuit": "c1", "start": "2026-10-08T01:00:00+09:00", '
            b'"end": "2026-10-08T03:00:00+09:00", "announced_at": "2027-01-01T00:00+09:00"}',
            400,
            "announced_at",
        ),
        ("/api/incidents/1/exclude", b'{"reason": ""}', 400, "reason"),
        ("/api/incidents/1/exclude", b"{}", 400, "reason"),
        ("/api/incidents/1/exclude", b'{"reason": "' + b"x" * 70_000 + b'"}', 413, None),
    ],
)
async def test_malformed_bodies(
    client: tuple[TestClient[Any, Any], Backend],
    path: str,
    body: bytes,
    status: int,
    field: str | None,
) -> None:
    c, backend = client
    r = await c.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status == status
    payload = await r.json()
    assert payload["error"] and payload["field"] == field
    assert backend.windows == [] and backend.excluded == {}  # nothing changed


async def test_posts_refused_without_a_configured_token() -> None:
    async with TestClient(TestServer(make_app(Backend(), None, token=None))) as c:
        r = await c.post("/api/incidents/1/exclude", json={"reason": "x"}, headers=AUTH)
        assert r.status == 403 and "http.token_file" in (await r.json())["error"]
        assert (await c.get("/metrics")).status == 404


async def test_overview_escapes_and_counts_down(
    client: tuple[TestClient[Any, Any], Backend],
) -> None:
    r = await client[0].get("/")
    html = await r.text()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="badge unavailable"' in html and 'href="/incidents/7"' in html
    assert 'data-until="2026-10-07T01:32:00+00:00"' in html
    assert html.count('<i class="down"') == 4
    status = await (await client[0].get("/api/status")).json()
    assert status["circuits"][0]["incident"]["id"] == 7
