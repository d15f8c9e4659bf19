"""The pages over a real daemon (journal, supervisor; injected clock): what each shows, and
that they show it to the right people. Browser tests are in tests/e2e/test_web_ui.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.web import make_app
from tests.web.site import (
    CUSTOMERS,
    ESCAPED,
    HOSTILE,
    TOKEN,
    TOKEN_A,
    Client,
    Site,
    csrf_of,
    sign_in,
    text,
)

MIN = timedelta(minutes=1)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Client, Site]]:
    s = Site(tmp_path)
    d = await s.start()
    app = make_app(s.backend, s.metrics, token=TOKEN, customers=CUSTOMERS, wall=s.clock)
    try:
        async with TestClient(TestServer(app)) as c:
            await s.until(lambda: all(d.sup.tracker.first_seen(c) for c in ("c-a1", "c-x")))
            yield c, s
    finally:
        await s.stop()


async def outage(s: Site, circuit: str) -> int:
    """Cut every path of ``circuit``; the id of the incident that opens."""
    assert s.daemon is not None
    sup = s.daemon.sup
    s.prober.cut(circuit)  # type: ignore[attr-defined]
    incident = await s.until(lambda: sup.tracker.open_incident(circuit))
    return int(incident.id)


async def test_overview_puts_the_cut_circuit_first_with_its_countdown(
    site: tuple[Client, Site],
) -> None:
    c, s = site
    await sign_in(c, TOKEN)
    page = await text(c, "/")
    assert page.index('id="row-c-a1"') < page.index('id="row-c-x"')  # by id while all are well
    iid = await outage(s, "c-x")
    s.travel(5 * MIN)
    page = await text(c, "/")
    rows = re.findall(r'<tr class="(\w+)" id="row-([\w.-]+)"', page)
    assert rows[0] == ("unavailable", "c-x")
    assert f'href="/incidents/{iid}"' in page
    assert "25:00 left" in page  # the deadline is detection + 30 min; 5 min have passed
    counts = dict(re.findall(r'class="count (\w+)[^"]*"[^>]*><b>(\d+)</b>', page))
    assert counts == {"unavailable": "1", "degraded": "0", "unknown": "0", "available": "3"}
    assert ESCAPED in page and HOSTILE not in page  # customer a's name
    # filters: by state, by customer, by text
    only = await text(c, "/?state=unavailable")
    assert re.findall(r'id="row-([\w.-]+)"', only) == ["c-x"]
    beta = await text(c, "/?customer=b")
    assert re.findall(r'id="row-([\w.-]+)"', beta) == ["c-b1"]
    found = await text(c, "/?q=ALPHA")
    assert sorted(re.findall(r'id="row-([\w.-]+)"', found)) == ["c-a1", "c-a2"]


async def test_a_degraded_circuit_is_between_down_and_well(site: tuple[Client, Site]) -> None:
    c, s = site
    assert s.daemon is not None
    s.prober.cut("c-b1", paths=1)  # type: ignore[attr-defined]
    await s.until(lambda: "down" in str(s.daemon.sup.tracker.path_state(  # type: ignore[union-attr]
        next(p.key for p in s.settings.plan().circuits[2].paths))[0]))
    await sign_in(c, TOKEN)
    page = await text(c, "/")
    rows = re.findall(r'<tr class="(\w+)" id="row-([\w.-]+)"', page)
    assert rows[0] == ("degraded", "c-b1")
