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

The two later cases are the rest of that window (before the fix, the new leader never learnt
the notification time until the next start or lead): noc-a's write-down landing after noc-b
resumed but before its claim, and after its claim while noc-b's own resend reaches no relay.
A leader now reads, with the other host's news, the acceptances of notices about incidents
it still waits to see notified (service/cluster.py).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.test_two_nodes import CUSTOMER, TAKEOVER_S, sender, us
from tests.e2e.two_nocs import Node, Pair, TwoNocs, built, paired, to, until
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
    no_breach_in_the_report(pair, incident)
    pair.check_journal()


def no_breach_in_the_report(pair: Pair, incident: dict[str, Any]) -> None:
    """The month's report, as of a minute past the incident's notification deadline, counts
    no notification breach: its one claim is the outage's."""
    deadline = datetime.fromisoformat(incident["notify_deadline"])
    made = pair.slawatch("report", "--month", incident["month"], "--format", "json",
                         "--now", (deadline + timedelta(minutes=1)).isoformat())  # fmt: skip
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    [row] = report["incidents"]
    assert (row["notify_breach"], row["notify_credit"]) == (False, "0")
    assert [c["kind"] for c in report["circuits"][0]["claims"]] == ["outage"]


def led_once(node: Node) -> None:
    """``node`` took the lead once and kept it: the notification time it journalled came
    from the news it reads while leading, not from a second resume (which reads the
    deliveries too: core/restore.py)."""
    log = node.daemon.log.read_text(errors="replace")
    assert log.count(f"{node.name} leads") == 1 and f"{node.name} no longer leads" not in log
    assert "the journal had no notification time" not in log


HOLD = """
CREATE TABLE test_hold (addr inet PRIMARY KEY);
CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    WHILE EXISTS (SELECT 1 FROM test_hold WHERE addr = inet_client_addr()) LOOP
        PERFORM pg_sleep(0.002);
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER test_hold BEFORE UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION test_hold();
"""
"""A gate in the journal, for the test: while ``test_hold`` holds a NOC host's address, that
host's updates of outbox rows wait, each row locked (as a slow write holds it), in a loop
that the server's ``lock_timeout`` (5 s, for a lock wait) does not cut short."""


def waits_on_a_lock(pair: Pair, address: str) -> bool:
    """Whether a session from ``address`` (a NOC host's) waits on a lock in the journal."""
    rows = pair.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    f"AND client_addr = '{address}'")  # fmt: skip
    return rows == [["1"]]


def test_a_write_down_between_the_new_leaders_resume_and_its_claim_is_the_notification(
    pair: Pair,
) -> None:
    """noc-a's write-down of the 250 lands after noc-b resumed from the journal and before
    noc-b claims what was in flight: the row is done (nothing sent again), but noc-b resumed
    the incident as never notified and, before the fix, never learnt otherwise (a
    notification breach from 30 minutes after detection). The journal's gate (``HOLD``)
    holds noc-a's write-down from the 250, its row locked: noc-a cannot renew its lease,
    noc-b takes it, resumes (reading past the lock) and claims, and its claim waits on the
    row; the gate opens then, and noc-a's write-down goes first (it waited first). The three
    land in the order of a real takeover's 58-136 ms window, only wider."""
    _, b = pair.start()
    pair.sql(HOLD)
    held: list[str] = []

    def hold_noc_a(r: Received) -> None:  # in the relay's thread, before its 250 goes back
        if not held and CUSTOMER in r.rcpt_tos and ".opened." in r.message_id:
            pair.sql(f"INSERT INTO test_hold VALUES ('{pair.topo.noc_mgmt_address}')")
            held.append(r.message_id.strip())

    pair.relay.script.on_accept = hold_noc_a
    pair.topo.cut_all()
    until(lambda: held, 15, "the opened notice accepted")
    try:
        until(lambda: waits_on_a_lock(pair, pair.topo.nb_address), TAKEOVER_S + 10,
              "noc-b's claim waiting on the row noc-a's write-down holds")  # fmt: skip
        assert pair.sql("SELECT holder, epoch FROM lease") == [["noc-b", "2"]]
        assert pair.sql("SELECT id, notified FROM incidents") == [["1", ""]]
    finally:
        pair.sql("DELETE FROM test_hold")
    row = f"SELECT state, claim_epoch FROM outbox WHERE message_id = '{held[0]}'"
    until(lambda: pair.sql(row) == [["done", "1"]], 20, "noc-a's write-down, before the claim")
    [[accepted]] = pair.sql(f"SELECT at FROM deliveries WHERE recipient = '{CUSTOMER}'")
    until(lambda: pair.sql("SELECT id, notified FROM incidents") == [["1", accepted]], 20,
          "noc-b journalling the notification time")  # fmt: skip
    [incident] = b.daemon.incidents()
    assert us(incident["notified"]) == int(accepted) and incident["notify_breach"] is False
    led_once(b)
    [opened] = to(pair.relay, CUSTOMER, "opened")  # told once: not sent again
    assert opened.message_id == held[0] and sender(pair, opened) == "noc-a"
    no_breach_in_the_report(pair, incident)
    pair.check_journal()


def test_an_acceptance_written_down_after_the_new_leaders_claim_is_the_notification(
    pair: Pair,
) -> None:
    """noc-a's write-down of the 250 lands after noc-b claimed the row, and noc-b's own
    resend reaches no relay: the row stays noc-b's (noc-a's finish leaves it alone), and
    before the fix noc-b never recorded the notification a relay had made in time. noc-a is
    cut from the journal at the 250 (nftables), noc-b from the relay from the start."""
    _, b = pair.start()
    cut: list[str] = []

    def cut_noc_a(r: Received) -> None:  # in the relay's thread, before its 250 goes back
        if not cut and CUSTOMER in r.rcpt_tos and ".opened." in r.message_id:
            pair.topo.cut_journal("noc", pair.pg.port)
            cut.append(r.message_id.strip())

    pair.relay.script.on_accept = cut_noc_a
    pair.topo.cut_relay("nb", pair.relay.port)
    pair.topo.cut_all()
    until(lambda: cut, 15, "the opened notice accepted")
    row = f"SELECT state, claim_epoch FROM outbox WHERE message_id = '{cut[0]}'"
    try:  # noc-b claims the row and tries it again, reaching no relay
        until(lambda: pair.sql(row) == [["in_flight", "2"]], TAKEOVER_S + 10, "noc-b's claim")
        until(lambda: "timeout no answer in time" in b.daemon.log.read_text(errors="replace"),
              10, "noc-b's resend reaching no relay")  # fmt: skip
        assert pair.sql("SELECT count(*) FROM deliveries WHERE accepted = 1") == [["0"]]
    finally:
        pair.topo.restore_journal("noc")
    accepted = f"SELECT at FROM deliveries WHERE accepted = 1 AND recipient = '{CUSTOMER}'"
    [[at]] = until(lambda: pair.sql(accepted), 60, "noc-a's write-down")
    until(lambda: pair.sql("SELECT id, notified FROM incidents") == [["1", at]], 20,
          "noc-b journalling the notification time")  # fmt: skip
    assert pair.sql(row)[0][1] == "2"  # noc-a's finish left noc-b's claim alone
    [incident] = b.daemon.incidents()
    assert us(incident["notified"]) == int(at) and incident["notify_breach"] is False
    led_once(b)
    [opened] = to(pair.relay, CUSTOMER, "opened")
    assert opened.message_id == cut[0] and sender(pair, opened) == "noc-a"
    no_breach_in_the_report(pair, incident)
    pair.check_journal()
