"""The pages over a real daemon (journal, supervisor; injected clock): what each shows, and
that they show it to the right people. Browser tests are in tests/e2e/test_web_ui.py."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.web import make_app
from monitor.web.words import JA
from tests.web.site import (
    CUSTOMERS,
    ESCAPED,
    HOSTILE,
    TOKEN,
    Client,
    Site,
    sign_in,
    text,
)

MIN = timedelta(minutes=1)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Client, Site]]:
    s = Site(tmp_path)
    await s.start()
    app = make_app(s.backend, s.metrics, token=TOKEN, customers=CUSTOMERS, wall=s.clock)

    async def all_up() -> bool:
        return all(p.state == "up" for r in (await s.backend.overview()).rows for p in r.paths)

    try:
        async with TestClient(TestServer(app)) as c:
            await s.until(all_up)
            yield c, s
    finally:
        await s.stop()


def unsendable(s: Site) -> None:
    """Every notice stays unsent (a file where the Maildir should be): the page shows an
    incident pending, then breached, however fast the notifier would have been."""
    maildir = s.settings.notify.maildir
    assert maildir is not None
    shutil.rmtree(maildir, ignore_errors=True)
    maildir.write_text("a file where the Maildir should be: every notice stays unsent")


async def outage(s: Site, circuit: str) -> int:
    """Cut every path of ``circuit``; the id of the incident that opens."""
    assert s.daemon is not None
    sup = s.daemon.sup
    s.prober.cut(circuit)  # type: ignore[attr-defined]
    incident = await s.until(lambda: sup.tracker.open_incident(circuit))
    await s.daemon.writer.drained()  # in the journal too: the month's pages read it there
    return int(incident.id)


async def test_overview_puts_the_cut_circuit_first_with_its_countdown(
    site: tuple[Client, Site],
) -> None:
    c, s = site
    await sign_in(c, TOKEN)
    page = await text(c, "/")
    assert page.index('id="row-c-a1"') < page.index('id="row-c-x"')  # by id while all are well
    unsendable(s)  # (a notice accepted before the travel below would end the countdown)
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
    await s.until(
        lambda: (
            "down"
            in str(
                s.daemon.sup.tracker.path_state(  # type: ignore[union-attr]
                    next(p.key for p in s.settings.plan().circuits[2].paths)
                )[0]
            )
        )
    )
    await sign_in(c, TOKEN)
    page = await text(c, "/")
    rows = re.findall(r'<tr class="(\w+)" id="row-([\w.-]+)"', page)
    assert rows[0] == ("degraded", "c-b1")


async def test_circuit_page_shows_matrix_rtt_history_and_this_month(
    site: tuple[Client, Site],
) -> None:
    c, s = site
    assert s.daemon is not None
    await s.until(lambda: len(s.daemon.history))  # type: ignore[union-attr]
    s.travel(10 * MIN)
    await sign_in(c, TOKEN)
    page = await text(c, "/circuits/c-a1")
    assert page.count('class="badge up"') == 4 and "2.50 ms" in page
    assert page.count('<svg class="spark"') == 4  # a day of RTTs per path
    assert "Alpha " + ESCAPED in page
    assert "This month (2026-10)" in page and "100.000 %" in page
    assert "Announce a maintenance window" in page  # the operator's form
    await text(c, "/circuits/nope", 404)


async def test_a_window_added_through_the_form_changes_the_counted_time(
    site: tuple[Client, Site],
) -> None:
    c, s = site
    iid = await outage(s, "c-a1")
    s.travel(40 * MIN)
    csrf = await sign_in(c, TOKEN)
    before = await text(c, f"/incidents/{iid}")
    assert re.search(r'id="counted">0:40:00<', before), before
    # announced before the outage began, covering it: nothing of it counts any more
    form = {"csrf": csrf, "start": "2026-10-07T09:30", "end": "2026-10-07T11:00",
            "announced_at": "2026-10-07T09:00", "note": f"fibre {HOSTILE}"}  # fmt: skip
    r = await c.post("/circuits/c-a1/maintenance", data=form, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/circuits/c-a1"
    circuit = await text(c, "/circuits/c-a1")
    assert "maintenance window 1 added" in circuit and f"fibre {ESCAPED}" in circuit
    after = await text(c, f"/incidents/{iid}")
    assert re.search(r'id="counted">0:00:00<', after) and "fibre " + ESCAPED in after
    # a window the form cannot take is refused, naming the field, and nothing is added
    bad = {**form, "end": "2026-10-07T09:00"}
    r = await c.post("/circuits/c-a1/maintenance", data=bad, allow_redirects=False)
    assert r.status == 303
    assert "end" in await text(c, "/circuits/c-a1")
    assert len(await s.backend.maintenance("c-a1")) == 1


async def test_incident_page_tells_the_deadline_and_exclusion(site: tuple[Client, Site]) -> None:
    c, s = site
    unsendable(s)
    iid = await outage(s, "c-b1")
    csrf = await sign_in(c, TOKEN)
    page = await text(c, f"/incidents/{iid}")
    assert "not notified yet" in page and "30:00 left" in page and "Timeline" in page
    s.travel(31 * MIN)
    page = await text(c, f"/incidents/{iid}")
    assert "no notification within 30 minutes" in page
    r = await c.post(f"/incidents/{iid}/exclude", data={"csrf": csrf, "reason": HOSTILE},
                     allow_redirects=False)  # fmt: skip
    assert r.status == 303
    page = await text(c, f"/incidents/{iid}")
    assert f'<dd class="note">{ESCAPED}</dd>' in page and "credit</dt><dd>0<" in page


async def test_month_page_and_downloads_are_the_reports(site: tuple[Client, Site]) -> None:
    c, s = site
    unsendable(s)  # the missed notice's 1/30 below: else a race with the notifier
    iid = await outage(s, "c-a1")
    s.travel(70 * MIN)
    await s.daemon.writer.drained()  # type: ignore[union-attr]
    await sign_in(c, TOKEN)
    r = await c.get("/months", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/months/2026-10"
    page = await text(c, "/months/2026-10")
    # the outage (1/30) and the missed notice (1/30)
    assert f'href="/incidents/{iid}"' in page and "1/15 (¥20,000)" in page
    for circuit in ("c-a1", "c-a2", "c-b1", "c-x"):
        assert f'href="/circuits/{circuit}"' in page
    r = await c.get("/months/2026-10/report.csv")
    assert r.status == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="slawatch-2026-10.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert {(x["circuit"], x["incident"]) for x in rows if x["incident"]} == {("c-a1", str(iid))}
    figures = await (await c.get("/months/2026-10/report.json?circuit=c-a1")).json()
    assert [x["circuit"] for x in figures["circuits"]] == ["c-a1"]
    assert figures["circuits"][0]["credit"] == "1/15"
    await text(c, "/months/2026-13", 404)
    await text(c, "/months/2026-10/report.xlsx", 404)


def test_every_text_a_template_asks_for_is_in_japanese() -> None:
    folder = Path(__file__).resolve().parents[2] / "monitor" / "web" / "templates"
    asked = {m for f in folder.glob("*.html") for m in re.findall(r"""t\(["']([^"']+)["']\)""",
                                                                   f.read_text())}  # fmt: skip
    assert len(asked) > 50
    assert sorted(asked - set(JA)) == []


async def test_head_answers_wherever_get_does(site: tuple[Client, Site]) -> None:
    """HEAD is GET without the body (RFC 9110 §9.3.2) on every route GET takes: pages, API,
    metrics, static files; signed out (the closed site's redirect) and signed in."""
    c, s = site
    iid = await outage(s, "c-a1")
    paths = {"/": "/", "/circuits/{id}": "/circuits/c-a1", "/incidents/{id}": f"/incidents/{iid}",
             "/months": "/months", "/months/{month}": "/months/2026-10",
             "/months/{month}/report.{fmt}": "/months/2026-10/report.csv",
             "/signin": "/signin", "/static/{name}": "/static/ui.css", "/metrics": "/metrics",
             "/healthz": "/healthz", "/api/status": "/api/status", "/api/circuits": "/api/circuits",
             "/api/cluster": "/api/cluster", "/api/incidents": "/api/incidents",
             "/api/incidents/{id}": f"/api/incidents/{iid}", "/api/sla": "/api/sla?month=2026-10",
             "/api/maintenance": "/api/maintenance"}  # fmt: skip
    app = c.server.app
    assert app is not None
    gets = {r.resource.canonical for r in app.router.routes()
            if r.method == "GET" and r.resource is not None}  # fmt: skip
    assert gets == set(paths), "a GET route is missing here"
    for signed_in in (False, True):
        if signed_in:
            await sign_in(c, TOKEN)
        for path in paths.values():
            got = await c.get(path, allow_redirects=False)
            await got.read()
            head = await c.head(path, allow_redirects=False)
            what = f"HEAD {path} (signed in: {signed_in}): {head.status}, GET {got.status}"
            assert head.status == got.status, what
            assert head.headers.get("Content-Type") == got.headers.get("Content-Type"), what
            assert head.headers.get("Location") == got.headers.get("Location"), what
            assert await head.read() == b"", what
