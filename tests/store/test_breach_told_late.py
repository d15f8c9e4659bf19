"""Two NOC hosts: the old leader's write-down of a relay's acceptance lands after the new leader
judged the notification deadline of the (closed) incident breached.

noc-a's relay accepted the opened notice 1 s after the detection; noc-a lost its lease before
writing that down (a leader cut off from the journal). noc-b took over, re-sent the notice
in vain (its relay refused it) and, 30 minutes from the detection, counted a breach. Then
noc-a's link came back and its write-down landed. A leader reads the acceptances of the
incidents it still waits to see notified (service/cluster.py), but a closed incident whose
breach was counted was no longer one of them (before the fix): the journal kept it as never
notified, and the month's report charged 1/30 of the fee that the deliveries table disproves,
until the next start or lead took it.

A real daemon (noc-b: lease loop, news, notifier, writer) on a real PostgreSQL journal, its
wall clock scripted; noc-a is the test, writing on its own store as a leader does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor import config
from monitor.core.inputs import Tick
from monitor.core.sla import notify_breach
from monitor.core.tracker import Incident, IncidentOpened
from monitor.metrics import Metrics
from monitor.service.daemon import Daemon
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.store.records import Notice
from tests.service.harness import T0, Clock, ScriptedProber, until
from tests.store.backends import PostgresBackend, postgres_backend
from tests.store.test_contract import delivery
from tests.store.test_lease import lapse, take
from tests.support import free_port

S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
FAULT = "fault@cust.example"
DETECTED = T0 + 2 * S
TOLD = DETECTED + S
"""When noc-a's relay accepted the opened notice (its 250)."""


def settings(pg: PostgresBackend) -> config.Settings:
    """c1 on four paths, noc-b of two NOC hosts on ``pg``'s journal, one relay that refuses
    every connection (nothing listens on its port)."""
    paths = [{"router": r, "demarc": d, "address": f"127.0.0.{i + 2}"}
             for i, (r, d) in enumerate((r, d) for r in ("active", "standby")
                                        for d in ("primary", "secondary"))]  # fmt: skip
    return config.parse(
        {
            "fail_after": 3,
            "recover_after": 2,
            "probe_interval_s": 0.05,
            "probe_timeout_s": 0.05,
            "journal": pg.url,
            "journal_password_file": str(pg.cluster.password_file),
            "cluster": {"node": "noc-b", "lease_s": 30, "renew_s": 5},
            "notify": {
                "from": "slawatch@noc.example",
                "noc": ["noc-duty@noc.example"],
                "smtp": [
                    {"host": "127.0.0.1", "port": free_port(), "tls": "none", "timeout_s": 0.5}
                ],
            },
            "circuits": [
                {"id": "c1", "monthly_fee_yen": 300000, "contacts": [FAULT], "paths": paths}
            ],
        },
        "test",
    )


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[PostgresBackend]:
    with postgres_backend(tmp_path) as backend:
        assert isinstance(backend, PostgresBackend)
        yield backend


def message() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"] = "slawatch@noc.example", FAULT, "<noc-a.1@x>"
    msg["Subject"] = "opened"
    msg.set_content("every path down")
    return bytes(msg)


def old_leader(pg: PostgresBackend) -> tuple[int, int]:
    """noc-a led: it opened incident 1 and claimed its opened notice, whose relay accepted it at
    :data:`TOLD`; then it was cut off, its lease lapsed. (its lease epoch, the notice's row)"""
    a = pg.open("noc-a")
    try:
        epoch = take(a, "noc-a").epoch
        incident = Incident(id=1, circuit="c1", start=T0, detected=DETECTED)
        assert a.record([IncidentOpened(incident=incident)], epoch=epoch)
        notice = Notice(message_id="<noc-a.1@x>", incident_id=1, circuit="c1",
                        kind="opened", recipients=(FAULT,), body=message(),
                        due_at=DETECTED)  # fmt: skip
        assert a.outbox.put(notice, DETECTED, epoch=epoch) is not None
        [item] = a.outbox.claim_due(DETECTED, 10, epoch=epoch)
        lapse(a, "noc-a")
        return epoch, item.id
    finally:
        a.close()


async def test_a_late_write_down_of_an_acceptance_voids_a_breach_counted(
    pg: PostgresBackend,
) -> None:
    epoch, row = old_leader(pg)
    s = settings(pg)
    clock = Clock(T0 + 40 * S)
    metrics = Metrics()
    store: AsyncStore[Store] = await AsyncStore.open(
        lambda: open_store(pg.url, password_file=pg.cluster.password_file, node="noc-b")
    )
    transport = build_transport(s, clock, lambda a: metrics.notification_attempt(str(a.outcome)))
    d = Daemon(s.plan(), store=store, prober=ScriptedProber(clock), transport=transport,
               metrics=metrics, wall=clock, watch_clock=False)  # fmt: skip
    await d.start()
    journal = pg.open("noc-b")
    try:

        def incident() -> Incident:
            [i] = [i for i in journal.restore().incidents if i.id == 1]
            return i

        await until(lambda: d.sup.leading and incident().end is not None, 15)  # paths answer
        breaches = "slawatch_notification_breaches_total"
        for _ in range(31):
            clock.advance(MIN)
            d.feed(Tick())
            await asyncio.sleep(0.05)  # the relay refuses noc-b's tries
        metrics.render()
        assert metrics.registry.get_sample_value(breaches, {"circuit": "c1"}) == 1.0
        assert incident().notified is None
        pa = pg.open("noc-a")  # noc-a's link is back: its write-down lands
        try:
            pa.outbox.finish(row, [delivery(FAULT, True, TOLD)], clock.now, epoch=epoch)
        finally:
            pa.close()
        await until(lambda: incident().notified is not None, 10)  # the news: every second
        i = incident()
        assert i.notified == TOLD
        assert not notify_breach(DETECTED + 30 * MIN, i.notified, clock.now)
    finally:
        journal.close()
        await d.stop()
        await store.close()
