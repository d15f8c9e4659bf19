"""The operator's changes through the JSON API over a real daemon (journal, supervisor;
injected clock): what an unknown thing answers, and exclusions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.web import make_app
from tests.web.site import CUSTOMERS, TOKEN, Client, Site

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Client, Site, int]]:
    """A daemon with an incident open on c-a1 (its id the third value)."""
    s = Site(tmp_path)
    d = await s.start()
    app = make_app(s.backend, s.metrics, token=TOKEN, customers=CUSTOMERS, wall=s.clock)
    try:
        async with TestClient(TestServer(app)) as c:
            s.prober.cut("c-a1")  # type: ignore[attr-defined]
            incident = await s.until(lambda: d.sup.tracker.open_incident("c-a1"))
            await d.writer.drained()
            yield c, s, int(incident.id)
    finally:
        await s.stop()


async def test_changing_an_unknown_thing_is_404_as_its_get_is(
    site: tuple[Client, Site, int],
) -> None:
    c, _, iid = site
    unknown = iid + 1000
    r = await c.get(f"/api/incidents/{unknown}", headers=AUTH)
    assert r.status == 404
    r = await c.post(f"/api/incidents/{unknown}/exclude", json={"reason": "x"}, headers=AUTH)
    assert r.status == 404, await r.text()
    assert await r.json() == {"error": f"no incident {unknown}", "field": "id"}
    r = await c.delete("/api/maintenance/999", headers=AUTH)
    assert r.status == 404, await r.text()
    assert (await r.json())["error"].startswith("no announced maintenance window 999")
    r = await c.post(f"/api/incidents/{iid}/exclude", json={"reason": " "}, headers=AUTH)
    assert r.status == 400  # a bad request about a real incident is still 400
    r = await c.post(f"/api/incidents/{iid}/exclude", json={"reason": "x"}, headers=AUTH)
    assert r.status == 200
    r = await c.post(f"/api/incidents/{iid}/exclude", json={"reason": "y"}, headers=AUTH)
    assert r.status == 400 and "already excluded" in (await r.json())["error"]
