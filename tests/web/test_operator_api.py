"""The operator's changes through the JSON API over a real daemon (journal, supervisor;
injected clock): what an unknown thing answers, and exclusions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.web import make_app
from tests.web.site import CUSTOMERS, TOKEN, Client, Site, sign_in

MIN = timedelta(minutes=1)

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


async def test_an_exclusion_is_withdrawn_and_the_credit_comes_back(
    site: tuple[Client, Site, int],
) -> None:
    c, s, iid = site
    assert s.daemon is not None
    s.travel(70 * MIN)  # over an hour: 1/30
    s.prober.restore("c-a1")  # type: ignore[attr-defined]
    await s.until(lambda: s.daemon.sup.tracker.open_incident("c-a1") is None)  # type: ignore[union-attr]
    await s.daemon.writer.drained()
    before = await (await c.get(f"/api/incidents/{iid}", headers=AUTH)).json()
    assert before["credit"] != "0" and before["excluded"] is None
    r = await c.post(f"/api/incidents/{iid}/exclude", json={"reason": "customer power"},
                     headers=AUTH)  # fmt: skip
    assert r.status == 200 and (await r.json())["credit"] == "0"
    withdraw = f"/api/incidents/{iid}/exclude/withdraw"
    r = await c.post(withdraw, json={"reason": "it was our fibre"})
    assert r.status == 401  # changes need the token, as the exclusion does
    r = await c.post(withdraw, json={"reason": " "}, headers=AUTH)
    assert r.status == 400 and (await r.json())["field"] == "reason"
    r = await c.post(withdraw, json={"reason": "x", "by": "me"}, headers=AUTH)
    assert r.status == 400 and (await r.json())["field"] == "by"  # a field it does not take
    r = await c.post(withdraw, json={"reason": "it was our fibre"}, headers=AUTH)
    assert r.status == 200, await r.text()
    after = await r.json()
    assert after["excluded"] is None and after["credit"] == before["credit"]
    assert after["withdrawn"]["excluded"] == "customer power"
    assert after["withdrawn"]["reason"] == "it was our fibre"
    texts = [e["text"] for e in after["timeline"] if e["kind"] == "exclusion"]
    assert texts == ["excluded: customer power", "exclusion withdrawn: it was our fibre"]
    sla = await (await c.get("/api/sla?month=2026-10", headers=AUTH)).json()
    [row] = [i for i in sla["incidents"] if i["circuit"] == "c-a1"]
    assert row["credit"] == before["credit"] and row["excluded"] is None
    [ours] = [i for i in s.daemon.sup.tracker.incidents("c-a1") if i.id == iid]
    assert ours.excluded is None  # the supervisor's copy too
    r = await c.post(withdraw, json={"reason": "again"}, headers=AUTH)
    assert r.status == 400
    said = (await r.json())["error"]
    assert said.startswith(f"incident {iid} is not excluded: its exclusion ('customer power')")
    assert said.endswith("; nothing to withdraw"), said
    r = await c.post(f"/api/incidents/{iid + 1000}/exclude/withdraw", json={"reason": "x"},
                     headers=AUTH)  # fmt: skip
    assert r.status == 404 and (await r.json())["error"] == f"no incident {iid + 1000}"
    await sign_in(c, TOKEN)  # the month's report, as the pages offer it
    report = await (await c.get("/months/2026-10/report.json")).json()
    [mine] = [x for x in report["circuits"] if x["circuit"] == "c-a1"]
    [gone] = mine["exclusions_withdrawn"]
    assert (gone["incident"], gone["excluded"], gone["reason"]) == (
        iid, "customer power", "it was our fibre")  # fmt: skip
