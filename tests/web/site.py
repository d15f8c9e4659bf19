"""A real daemon (journal, supervisor, notifier; injected clock, scripted prober) behind the
real application, with two customers, for the pages' tests.

    circuits  c-a1, c-a2 (customer "a"), c-b1 (customer "b"), c-x (no customer)

The customers' names and a note or two carry hostile text, so every test that looks at a page
also sees whether it was escaped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from monitor import config
from monitor.service.probing import Outcomes
from monitor.web import Customer
from tests.service.harness import Clock, Harness

TOKEN = "operator-token-0123456789abcdef"
TOKEN_A = "customer-a-token-0123456789abcdef"
TOKEN_B = "customer-b-token-0123456789abcdef"
HOSTILE = "<script>alert(1)</script>\"'&"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;"
CIRCUITS = {"c-a1": 1, "c-a2": 2, "c-b1": 3, "c-x": 4}
CUSTOMERS = (
    Customer(id="a", name=f"Alpha {HOSTILE}", circuits=frozenset({"c-a1", "c-a2"}), token=TOKEN_A),
    Customer(id="b", name="Beta KK", circuits=frozenset({"c-b1"}), token=TOKEN_B),
)

Client = TestClient[web.Request, web.Application]


def address(circuit: str, n: int) -> str:
    return f"127.0.{CIRCUITS[circuit]}.{n + 2}"


class Prober:
    """Answers every probe, except those to addresses in ``down``, stamped with the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.down = clock, set[str]()

    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes:
        at, down = self.clock(), self.down
        return (
            [at] * len(targets),
            [None if t in down else 0.0025 for t in targets],
            ["timeout" if t in down else None for t in targets],
        )

    def cut(self, circuit: str, paths: int = 4) -> None:
        self.down |= {address(circuit, n) for n in range(paths)}

    def restore(self, circuit: str) -> None:
        self.down -= {address(circuit, n) for n in range(4)}


def settings(tmp: Path) -> config.Settings:
    return config.parse(
        {
            "fail_after": 3,
            "recover_after": 2,
            "probe_interval_s": 0.05,
            "probe_timeout_s": 0.05,
            "journal": str(tmp / "journal.db"),
            "notify": {"from": "slawatch@noc.example", "maildir": str(tmp / "maildir")},
            "circuits": [
                {
                    "id": cid,
                    "monthly_fee_yen": 300000,
                    "contacts": ["fault@cust.example"],
                    "paths": [
                        {"router": r, "demarc": d, "address": address(cid, n)}
                        for n, (r, d) in enumerate(
                            (r, d) for r in ("active", "standby") for d in ("primary", "secondary")
                        )
                    ],
                }
                for cid in CIRCUITS
            ],
        },
        "test",
    )


class Site(Harness):
    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.settings = settings(tmp)
        self.prober = Prober(self.clock)  # type: ignore[assignment]


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(client: Client, token: str) -> str:
    """Sign ``client`` in (its cookie jar keeps the session); the session's CSRF token."""
    page = await (await client.get("/signin")).text()
    form = page[page.index('action="/signin"') :]  # not the sign-out form's token
    r = await client.post(
        "/signin", data={"csrf": csrf_of(form), "token": token}, allow_redirects=False
    )
    assert r.status == 303, await r.text()
    return csrf_of(await (await client.get("/")).text())


async def text(client: Client, path: str, status: int = 200, **kw: Any) -> str:
    r = await client.get(path, allow_redirects=False, **kw)
    body = await r.text()
    assert r.status == status, f"GET {path}: {r.status} {body[:500]}"
    return body
