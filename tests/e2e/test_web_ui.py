"""The web UI in a real browser (Debian's headless Chromium driven by Playwright) against a
real ``slawatch run`` in the NOC namespace of a topology, with two customers.

    er-test-1   customer A's, on the topology's four paths (cut by the test)
    er-test-2   customer B's, on addresses nobody answers: down from the start, so it has an
                incident; inside a configured maintenance window, so its notice deadline is
                hours away and er-test-1, once cut, is the most urgent circuit

Screenshots of every page at 1280x800 are kept in tests/artifacts/ (web-*.png).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.web import make_app
from tests.e2e.daemon import Daemon
from tests.e2e.test_status_page import ARTIFACTS, chromium
from tests.support import free_port
from tests.topology import Topology
from tests.web.test_ui_security import ROUTES

pytestmark = pytest.mark.netns

try:
    from playwright import sync_api as playwright
except ImportError:
    if os.environ.get("CI") == "true":
        raise  # `make test` installs it: in CI a skip would hide the browser walk
    pytest.skip("playwright not installed: pip install -e '.[test]'", allow_module_level=True)

TOKEN = "operator-e2e-token-0123456789abcdef"
TOKEN_A = "customer-a-e2e-token-0123456789abcdef"
TOKEN_B = "customer-b-e2e-token-0123456789abcdef"
TOKYO = ZoneInfo("Asia/Tokyo")
WAIT_MS = 30_000
MARKS = ('/circuits/er-test-2"', ">er-test-2<", '"circuit": "er-test-2"', '"id": "er-test-2"',
         ",er-test-2,", "Beta")  # fmt: skip
"""Marks of customer b's things in a page, JSON or CSV (not an echo of what was asked)."""


def secret(tmp: Path, name: str, value: str) -> str:
    path = tmp / name
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return str(path)


def extra(tmp: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "http": {"token_file": secret(tmp, "api.token", TOKEN)},
        "more_circuits": [
            {
                "id": "er-test-2",
                "monthly_fee_yen": 200000,
                "contacts": ["fault@beta.example"],
                "paths": [
                    {"router": r, "demarc": d, "address": f"198.18.5.{n + 1}"}
                    for n, (r, d) in enumerate(
                        (r, d) for r in ("active", "standby") for d in ("primary", "secondary")
                    )
                ],
                "maintenance": [
                    {
                        "start": (now - timedelta(hours=1)).isoformat(),
                        "end": (now + timedelta(hours=3)).isoformat(),
                        "note": "Beta's planned work",
                    }
                ],
            }
        ],
        "customers": [
            {
                "id": "alpha",
                "name": "Alpha <b>Corp</b>",
                "circuits": ["er-test-1"],
                "token_file": secret(tmp, "alpha.token", TOKEN_A),
            },
            {
                "id": "beta",
                "name": "Beta KK",
                "circuits": ["er-test-2"],
                "token_file": secret(tmp, "beta.token", TOKEN_B),
            },
        ],
    }


def api(d: Daemon, path: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON API with the operator's token (reading needs it: customers are configured)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(d.url(path), data=data, method="GET" if body is None else "POST")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"web-{name}.png"
    page.screenshot(path=str(out))
    assert out.stat().st_size > 5_000


def sign_in(page: Any, d: Daemon, token: str) -> None:
    page.goto(d.url("/signin"))
    page.fill("input[name=token]", token)
    page.click("form[action='/signin'] button")
    page.wait_for_url(d.url("/"))


def local(at: datetime) -> str:
    return at.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


def test_web_ui_in_a_browser(topology: Topology, tmp_path: Path, browser: Any) -> None:
    expect = playwright.expect
    d = Daemon.launch(topology, tmp_path, smtp_port=free_port(), extra=extra(tmp_path))
    try:
        d.wait_for(lambda: len(api(d, "/api/incidents?circuit=er-test-2")), 15, "b's incident")
        d.wait_for(lambda: all(p["state"] == "up" for p in api(d, "/api/circuits")[0]["paths"]),
                   15, "a's paths up")  # fmt: skip
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(d.url("/circuits/er-test-1"))
        expect(page).to_have_url(d.url("/signin"))  # customers configured: sign in first
        shot(page, "signin")
        sign_in(page, d, TOKEN)
        rows = page.locator("table.rows tbody tr")
        expect(rows.first).to_have_id("row-er-test-2")  # down (in maintenance), a's is up
        shot(page, "overview")

        # cut a's circuit: it moves to the top with the countdown to its notice deadline
        topology.cut_all()
        expect(rows.first).to_have_id("row-er-test-1", timeout=WAIT_MS)  # the page reloads
        countdown = rows.first.locator(".cd")
        expect(countdown).to_have_text(re.compile(r"^(29|30):\d\d left$"))
        ticking = countdown.inner_text()
        expect(countdown).not_to_have_text(ticking, timeout=5_000)  # the script ticks it
        expect(page.locator(".count.unavailable b")).to_have_text("2")
        shot(page, "overview-outage")

        # its incident page: figures, deadline, timeline
        rows.first.locator("a[href^='/incidents/']").click()
        expect(page.locator("h1")).to_contain_text("er-test-1")
        expect(page.locator("#outcome")).to_contain_text("not notified yet")
        [incident] = [i for i in api(d, "/api/incidents?circuit=er-test-1") if not i["end"]]
        counted = page.locator("#counted")
        while counted.inner_text() == "0:00:00":  # wait for a second of counted time
            page.wait_for_timeout(500)
            page.reload()
        shot(page, "incident")

        # a window announced before the outage began, through the circuit page's form
        page.goto(d.url("/circuits/er-test-1"))
        start = datetime.fromisoformat(incident["start"])
        page.fill("input[name=start]", local(start - timedelta(minutes=10)))
        page.fill("input[name=end]", local(datetime.now(UTC) + timedelta(hours=1)))
        page.fill("input[name=announced_at]", local(start - timedelta(minutes=20)))
        page.fill("input[name=note]", "fibre splice <script>alert(1)</script>")
        page.click("form[action$='/maintenance'] button")
        expect(page.locator(".flash")).to_contain_text("added")
        expect(page.locator("td.note").last).to_have_text("fibre splice <script>alert(1)</script>")
        shot(page, "circuit")
        page.goto(d.url(f"/incidents/{incident['id']}"))
        expect(counted).to_have_text("0:00:00")  # the counted time changed
        shot(page, "incident-after-window")
        page.goto(d.url("/months"))
        expect(page.locator("a[download]")).to_have_count(3)
        shot(page, "month")

        # customer a: its own circuit, nothing of b's on any route
        b_incident = api(d, "/api/incidents?circuit=er-test-2")[0]["id"]
        when = datetime.now(UTC) + timedelta(days=1)
        window = api(d, "/api/maintenance", {"circuit": "er-test-2", "start": when.isoformat(),
                     "end": (when + timedelta(hours=1)).isoformat(), "note": "b"})  # fmt: skip
        page.click("header form button")  # sign out
        sign_in(page, d, TOKEN_A)
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_id("row-er-test-1")
        page.goto(d.url("/?lang=ja"))
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        shot(page, "customer-ja")
        page.goto(d.url("/circuits/er-test-2"))
        expect(page.locator("h1")).to_contain_text("404")
        shot(page, "customer-404")
        listed = make_app(object(), None, token=None).router.routes()  # type: ignore[arg-type]
        assert set(ROUTES) == {(r.method, r.resource.canonical) for r in listed
                               if r.method != "HEAD" and r.resource}  # fmt: skip
        names = {"circuit": "er-test-2", "incident": str(b_incident), "window": str(window["id"])}
        month = datetime.now(TOKYO).strftime("%Y-%m")
        for (method, _), asks in ROUTES.items():
            for template, expected in asks:
                csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
                path = template.format(**names).replace("2026-10", month)
                form = None if method == "GET" else {"csrf": csrf, "reason": "x", "token": TOKEN_B}
                r = page.request.fetch(d.url(path), method=method, form=form, max_redirects=0)
                seen = f"{method} {path}: {r.status}"
                if expected in ("404", "401", "403"):
                    assert r.status == int(expected), seen
                body = r.text()
                assert not [m for m in MARKS if m in body], f"{seen} shows b's things"
                if expected == "absent-after":  # that was the sign-out
                    sign_in(page, d, TOKEN_A)
        assert api(d, f"/api/incidents/{b_incident}")["excluded"] is None
    finally:
        d.ensure_stopped()
        topology.restore_all()
