"""A Daemon with an injected wall clock and a scripted prober (time travel, no waiting).

ICMP itself is tested for real elsewhere (tests/probes, tests/e2e); here the question is what
the shell does when the clock says 31 minutes have passed, which a real network cannot fast
forward. The journal, the outbox, the mailer and the relays are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor import config
from monitor.core.inputs import Tick
from monitor.metrics import Metrics
from monitor.service.backend import Backend
from monitor.service.daemon import Daemon
from monitor.service.probing import Outcomes
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class ScriptedProber:
    """Answers every probe with ``self.ok``, stamped with the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ok = True

    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes:
        await asyncio.sleep(0)
        n, at = len(targets), self.clock()
        return [at] * n, [0.001 if self.ok else None] * n, [None if self.ok else "timeout"] * n


ROLES = [(r, d) for r in ("active", "standby") for d in ("primary", "secondary")]
"""A circuit's four paths' (router, demarc), in the order of their addresses' last number."""


def many_circuits(
    tmp: Path,
    ids: Sequence[str],
    address: Callable[[int, int], str],
    *,
    contact: Callable[[int], str] = lambda c: f"fault{c}@cust.example",
    **options: Any,
) -> config.Settings:
    """``ids``, each a circuit on four paths (ROLES), path ``i`` of circuit ``c`` (its place
    in ``ids``) probing ``address(c, i)``; every notice to a Maildir. ``options``: top-level
    settings (fail_after, probe_interval_s...)."""
    return config.parse(
        {
            **options,
            "journal": str(tmp / "journal.db"),
            "notify": {"from": "slawatch@noc.example", "maildir": str(tmp / "maildir")},
            "circuits": [
                {
                    "id": cid,
                    "monthly_fee_yen": 300000,
                    "contacts": [contact(c)],
                    "paths": [
                        {"router": r, "demarc": d, "address": address(c, i)}
                        for i, (r, d) in enumerate(ROLES)
                    ],
                }
                for c, cid in enumerate(ids)
            ],
        },
        "many",
    )


def settings(
    tmp: Path, *, relay_ports: Sequence[int] = (), timezone: str | None = None
) -> config.Settings:
    """One circuit c1 (in ``timezone``, default the configured Asia/Tokyo) on four paths."""
    own_zone = {} if timezone is None else {"timezone": timezone}
    return config.parse(
        {
            "fail_after": 3,
            "recover_after": 2,
            "probe_interval_s": 0.05,
            "probe_timeout_s": 0.05,
            "journal": str(tmp / "journal.db"),
            "notify": {
                "from": "slawatch@noc.example",
                "noc": ["noc-duty@noc.example"],
                "maildir": str(tmp / "maildir"),
                "smtp": [
                    {"host": "127.0.0.1", "port": p, "tls": "none", "timeout_s": 0.5}
                    for p in relay_ports
                ],
            },
            "circuits": [
                {
                    "id": "c1",
                    "monthly_fee_yen": 300000,
                    "contacts": ["fault@cust.example"],
                    **own_zone,
                    "paths": [
                        {"router": r, "demarc": d, "address": f"127.0.0.{i + 2}"}
                        for i, (r, d) in enumerate(
                            (r, d) for r in ("active", "standby") for d in ("primary", "secondary")
                        )
                    ],
                }
            ],
        },
        "test",
    )


class Harness:
    def __init__(
        self,
        tmp: Path,
        *,
        relay_ports: Sequence[int] = (),
        clock: Clock | None = None,
        timezone: str | None = None,
        watch_clock: bool = False,
    ) -> None:
        # The scripted clock's jumps stand for time passing, not for steps of the wall clock:
        # the daemon's step watch is off unless a test is about it.
        self.watch_clock = watch_clock
        self.settings = settings(tmp, relay_ports=relay_ports, timezone=timezone)
        self.clock = clock or Clock()
        self.prober = ScriptedProber(self.clock)
        self.metrics = Metrics()
        self.daemon: Daemon | None = None
        self.store: AsyncStore[Store] | None = None

    async def start(self) -> Daemon:
        journal = self.settings.journal
        self.store = store = await AsyncStore.open(lambda: open_store(journal))
        transport = build_transport(
            self.settings, self.clock, lambda a: self.metrics.notification_attempt(str(a.outcome))
        )
        d = Daemon(self.settings.plan(), store=store, prober=self.prober, transport=transport,
                   metrics=self.metrics, wall=self.clock,
                   watch_clock=self.watch_clock)  # fmt: skip
        self.daemon = d
        await d.start()
        self.backend = Backend(
            lambda: d.sup, store=store, ops=d.ops, wall=self.clock, history=d.history
        )
        return d

    async def stop(self) -> None:
        assert self.daemon is not None and self.store is not None
        await self.daemon.stop()
        await self.store.close()

    async def until(self, cond: Any, timeout: float = 5.0) -> Any:
        return await until(cond, timeout)

    def travel(self, delta: timedelta) -> None:
        """Move the clock on and tell the daemon that time passed."""
        self.clock.advance(delta)
        assert self.daemon is not None
        self.daemon.feed(Tick())

    def sample(self, name: str, **labels: str) -> float | None:
        """A series as a scrape would see it now (the countdowns are computed per scrape)."""
        self.metrics.render()
        return self.metrics.registry.get_sample_value(name, labels)

    async def ask(self, call: Any) -> Any:
        """A public store query, on the store's thread."""
        assert self.store is not None
        return await self.store.run(call)


async def until(cond: Any, timeout: float = 5.0) -> Any:
    """``cond()``'s first true value (awaited if it is a coroutine), polled every 20 ms;
    AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = cond()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")
