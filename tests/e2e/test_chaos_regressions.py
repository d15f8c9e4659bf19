"""What a night of kills and cuts found (a chaos run against the real daemon, 189 stops over
five seeds), each replayed once: the real daemon, namespaces, relay and journal.

- A SIGKILL right after the journal took a blind spell's start or end lost the NOC's "blind"
  or "sight back" notice: a start now offers them again (owing.py ``_reowe_blind``).
- An escalation group got RECOVERED before OPENED when both were held while blind: they now
  go out in the order owed, one after the other (held.py, notifier.py).
- After a SIGKILL the unmonitored gap began at the last heartbeat (every 10 s), covering an
  incident the daemon had detected and told: it now begins at the last thing the daemon
  wrote (store/sql.py ``_last_seen``).
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.notify.smtp_server import SmtpServer
from tests.topology import Topology

pytestmark = pytest.mark.netns

MGR = "mgr@customer.example"


def rows(journal: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read of the daemon's journal beside it ([] while it is busy)."""
    try:
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=0.05)
        try:
            return list(db.execute(sql, args))
        finally:
            db.close()
    except sqlite3.Error:
        return []


def spells(journal: Path) -> list[tuple[int, int | None]]:
    return [(s, e) for s, e in rows(journal, 'SELECT start, "end" FROM blind_intervals')]


def blind(d: Daemon) -> bool:
    return "slawatch_monitor_blind 1.0" in d.text("/metrics")


def poll(cond: Any, timeout: float = 10.0) -> None:
    """Wait for ``cond()`` in a tight loop (2 ms): to act right after a write."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


@pytest.mark.parametrize("edge", ["start", "end"])
def test_a_kill_right_after_a_blind_edge_keeps_the_noc_notice(
    topology: Topology, tmp_path: Path, edge: str
) -> None:
    journal = tmp_path / "journal.db"
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            topology.cut_gateway()
            poll(lambda: spells(journal))
            if edge == "end":
                d.wait_for(lambda: relay.received, 10, "the blind notice")
                topology.restore_gateway()
                poll(lambda: spells(journal)[-1][1] is not None)
            d.stop(signal.SIGKILL)  # right after the journal took the edge
            d.start()
            since = spells(journal)[-1][0] // 1_000_000
            want = "blind" if edge == "start" else "blind-ended"
            d.wait_for(
                lambda: [r for r in relay.received if f".{since}.{want}." in r.message_id],
                15,
                f"the {want} notice of the spell since {since}",
            )
        finally:
            d.ensure_stopped()
            topology.restore_gateway()


def test_an_escalation_held_while_blind_is_told_opened_before_recovered(
    topology: Topology, tmp_path: Path
) -> None:
    extra = {"circuit": {"escalation": [{"name": "mgr", "after_min": 0.1, "contacts": [MGR]}]}}
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port, extra=extra)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            topology.cut_all()
            [inc] = d.wait_for(lambda: [i for i in d.incidents() if i["notified"]], 10, "told")
            topology.cut_gateway()
            d.wait_for(lambda: blind(d), 10, "blind")
            detected = time.time()  # at least: the escalation is due 6 s after detection
            d.wait_for(lambda: time.time() > detected + 7, 10, "the escalation's time")
            topology.restore_all()
            d.wait_for(lambda: [i for i in d.incidents() if i["end"]], 10, "closed while blind")
            assert not [r for r in relay.received if MGR in r.rcpt_tos]  # held
            topology.restore_gateway()
            d.wait_for(lambda: sum(MGR in r.rcpt_tos for r in relay.received) >= 2, 15, "told")
            order = [r.message_id for r in relay.received if MGR in r.rcpt_tos]
            assert ".opened." in order[0] and ".recovered." in order[1], order
            assert inc["id"] == d.incidents()[0]["id"]
        finally:
            d.ensure_stopped()
            topology.restore_gateway()
            topology.restore_all()


def test_a_gap_after_a_kill_does_not_cover_what_the_daemon_saw(
    topology: Topology, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.db"
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            d.stop(signal.SIGTERM)  # a clean stop and a fresh start: no heartbeat for 10 s
            d.start()
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            topology.cut_all()
            [inc] = d.wait_for(lambda: [i for i in d.incidents() if i["notified"]], 10, "told")
            d.stop(signal.SIGKILL)
            d.start()
            d.wait_for(lambda: d.get("/api/circuits") is not None, 10, "serving again")
        finally:
            d.ensure_stopped()
            topology.restore_all()
    [(detected, notified)] = rows(
        journal, "SELECT detected, notified FROM incidents WHERE id = ?", (inc["id"],)
    )
    start, _ = rows(journal, 'SELECT start, "end" FROM gaps ORDER BY id')[-1]
    assert start >= notified >= detected, (start, detected, notified)
