"""The leader's notified fact lost in a takeover: the relay accepted the opened notice, the
leader lost its lease before the fact reached the journal, and its write-down of the
delivery landed before the new leader claimed the row (so the row was done and nothing was
sent again). Before the fix the new leader resumed the incident as never notified: from 30
minutes after detection, a notification breach, 1/30 of the monthly charges claimed from the
carrier, that the journal's own ``deliveries`` disprove.

Two real daemons, one real PostgreSQL journal, a real SMTP sink. noc-a's journal link is cut
(nftables) right as the relay answers 250, so its write-down waits while its lease lapses;
noc-b is paused (SIGSTOP) the moment the journal shows it took the lease, before it claims
anything, and let go once noc-a's write-down is in: that widens, without moving it, the
window of a real takeover (noc-b resumes and claims some 60-130 ms after taking the lease).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.e2e.test_two_nodes import CUSTOMER, TAKEOVER_S, sender, us
from tests.e2e.two_nocs import Pair, TwoNocs, built, paired, to, until
from tests.notify.smtp_server import Received
from tests.store.pg_cluster import ADMIN, PgCluster

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[TwoNocs, PgCluster]]:
    with built(f"nt{os.getpid()}") as made:
        yield made


@pytest.fixture
def pair(site: tuple[TwoNocs, PgCluster], tmp_path: Path) -> Iterator[Pair]:
    with paired(site, tmp_path) as p:
        yield p


def stop_when_it_leads(pair: Pair, ns: str, node: str, timeout: float) -> None:
    """SIGSTOP ``node`` the moment the journal says it holds the lease (polled over the
    socket, well under a millisecond a look)."""
    with psycopg.connect(host=str(pair.pg.sock), port=pair.pg.port, user=ADMIN,
                         dbname=pair.db, autocommit=True) as conn:  # fmt: skip
        deadline = time.monotonic() + timeout
        while (row := conn.execute("SELECT holder FROM lease").fetchone()) and row[0] != node:
            assert time.monotonic() < deadline, f"{node} never took the lease"
        pair.nodes[ns].signal(signal.SIGSTOP)


def test_an_acceptance_whose_notified_fact_was_refused_is_the_notification(pair: Pair) -> None:
    a, b = pair.start()
    cut: list[Received] = []

    def cut_noc_a(r: Received) -> None:  # in the relay's thread, before its 250 goes back
        if not cut and CUSTOMER in r.rcpt_tos and ".opened." in r.message_id:
            pair.topo.cut_journal("noc", pair.pg.port)
            cut.append(r)

    pair.relay.script.on_accept = cut_noc_a
    pair.topo.cut_all()
    until(lambda: cut, 15, "the opened notice accepted")
    try:
        stop_when_it_leads(pair, "nb", "noc-b", TAKEOVER_S + 5)
        pair.topo.restore_journal("noc")
        # noc-a's write-down: the relay's answer kept, the row done under noc-a's claim, the
        # notified fact refused (noc-a's lease is gone)
        until(lambda: pair.sql("SELECT state, claim_epoch FROM outbox") == [["done", "1"]], 60,
              "noc-a's write-down")  # fmt: skip
        [[accepted]] = pair.sql("SELECT at FROM deliveries WHERE accepted = 1")
        assert pair.sql("SELECT id, notified FROM incidents") == [["1", ""]]
    finally:
        b.signal(signal.SIGCONT)
    until(lambda: b.leads() or a.leads(), 20, "a leader")
    leader = b if b.leads() else a
    [incident] = until(lambda: [i for i in leader.daemon.incidents() if i["notified"]], 20,
                       f"{leader.name} showing the incident notified")  # fmt: skip
    assert us(incident["notified"]) == int(accepted) and incident["notify_breach"] is False
    until(lambda: pair.sql("SELECT id, notified FROM incidents") == [["1", accepted]], 10,
          "the notification time journalled")  # fmt: skip
    [opened] = to(pair.relay, CUSTOMER, "opened")  # told once: not sent again
    assert opened.message_id == cut[0].message_id and sender(pair, opened) == "noc-a"
    # the month's report, as of a minute past the deadline: no notification breach
    deadline = datetime.fromisoformat(incident["notify_deadline"])
    made = pair.slawatch("report", "--month", incident["month"], "--format", "json",
                         "--now", (deadline + timedelta(minutes=1)).isoformat())  # fmt: skip
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    [row] = report["incidents"]
    assert (row["notify_breach"], row["notify_credit"]) == (False, "0")
    assert [c["kind"] for c in report["circuits"][0]["claims"]] == ["outage"]
    pair.check_journal()
