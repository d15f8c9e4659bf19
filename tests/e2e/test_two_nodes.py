"""Two NOC hosts end to end (issue 13): two real daemons in their own namespaces, one real
PostgreSQL journal, a real SMTP sink, and the faults the lease and the vantage rule are for.

Every notice is counted at the sink by Message-ID and by the host that sent it (the client
address of the SMTP session); takeover times are measured from the fault, on this process's
monotonic clock, against the bounds of store/lease.py with lease_s = 6 s, renew_s = 1 s.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.two_nocs import (
    LEASE_S,
    RENEW_S,
    Pair,
    TwoNocs,
    all_down,
    all_up,
    both_fresh,
    built,
    paired,
    to,
    until,
)
from tests.notify.smtp_server import Received, SmtpServer
from tests.store.pg_cluster import PgCluster

pytestmark = pytest.mark.netns

SEND_FOR_S = LEASE_S - 2 * RENEW_S
"""How long a leader may go on sending after its last renewal began (store/lease.py)."""
TAKEOVER_S = LEASE_S + RENEW_S
"""The standby leads within this of the leader's last renewal (store/lease.py)."""
CUSTOMER, NOC = "fault@customer.example", "noc-duty@noc.example"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[TwoNocs, PgCluster]]:
    with built(f"h2{os.getpid()}") as made:
        yield made


@pytest.fixture
def pair(site: tuple[TwoNocs, PgCluster], tmp_path: Path) -> Iterator[Pair]:
    with paired(site, tmp_path) as p:
        yield p


def once(relay: SmtpServer, rcpt: str, notice: str) -> Received:
    """The one message of this kind to ``rcpt``: exactly one Message-ID, delivered once."""
    got = to(relay, rcpt, notice)
    ids = Counter(r.message_id for r in got)
    assert len(ids) == 1 and list(ids.values()) == [1], f"{notice} to {rcpt}: {ids}"
    return got[0]


def sender(pair: Pair, r: Received) -> str:
    """Which node sent a message (by its SMTP client address)."""
    return "noc-a" if r.peer == pair.topo.noc_mgmt_address else "noc-b"


# -- the cases ----------------------------------------------------------------------------------
def test_leader_killed_during_an_outage(pair: Pair) -> None:
    a, b = pair.start()
    epoch = a.cluster()["epoch"]
    pair.topo.cut_all()
    killed = time.monotonic()
    a.signal(signal.SIGKILL)
    until(lambda: to(pair.relay, CUSTOMER, "opened"), TAKEOVER_S + 10, "the opened notice")
    opened = once(pair.relay, CUSTOMER, "opened")
    took = opened.at - killed
    assert took <= TAKEOVER_S, f"accepted {took:.2f} s after the kill"
    assert sender(pair, opened) == "noc-b"
    view = b.cluster()
    assert view["role"] == "leader" and view["leader"] == "noc-b" and view["epoch"] == epoch + 1
    [incident] = b.daemon.incidents()
    assert incident["single_vantage"] is True  # noc-a is dead: noc-b decided alone
    pair.topo.restore_all()
    until(lambda: to(pair.relay, CUSTOMER, "recovered"), 10, "the recovered notice")
    once(pair.relay, CUSTOMER, "recovered")
    assert not to(pair.relay, NOC, "vantage-disagree")
    pair.check_journal()


def test_leader_paused_past_its_lease_sends_nothing_when_it_wakes(pair: Pair) -> None:
    a, b = pair.start()
    a.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    until(b.leads, TAKEOVER_S + 5, "noc-b leading")
    assert time.monotonic() - stopped <= TAKEOVER_S + 1
    pair.topo.cut_all()
    until(lambda: to(pair.relay, CUSTOMER, "opened"), 10, "the opened notice")
    time.sleep(max(0.0, stopped + LEASE_S + 1 - time.monotonic()))
    woke = time.monotonic()
    a.signal(signal.SIGCONT)
    until(lambda: a.cluster().get("role") == "standby", 10, "noc-a standing by")
    until(lambda: all_down(a), 10, "noc-a seeing the outage")
    pair.topo.restore_all()
    until(lambda: to(pair.relay, CUSTOMER, "recovered"), 10, "the recovered notice")
    until(lambda: all_up(a), 10, "noc-a seeing the paths again")
    time.sleep(2 * RENEW_S)  # room for anything noc-a still had queued
    assert not [r for r in pair.relay.received if sender(pair, r) == "noc-a" and r.at > woke]
    once(pair.relay, CUSTOMER, "opened")
    once(pair.relay, CUSTOMER, "recovered")
    assert not to(pair.relay, NOC, "vantage-disagree")
    assert len(pair.sql("SELECT id FROM incidents")) == 1
    # noc-a records its own view again: its journal writer is not stuck on a fenced write
    ups = pair.sql("SELECT count(*) FROM path_changes WHERE node = 'noc-a' AND state = 'up'")
    assert int(ups[0][0]) >= 8  # 4 at the start, 4 after the outage
    pair.check_journal()


def test_leader_cut_from_the_journal(pair: Pair) -> None:
    a, _ = pair.start()
    pair.topo.cut_journal("noc", pair.pg.port)
    cut = time.monotonic()
    pair.topo.cut_all()
    until(lambda: to(pair.relay, CUSTOMER, "opened"), TAKEOVER_S + 10, "the opened notice")
    opened = once(pair.relay, CUSTOMER, "opened")
    assert sender(pair, opened) == "noc-b"
    assert opened.at - cut <= TAKEOVER_S + 1, f"accepted {opened.at - cut:.2f} s after the cut"
    late = [r for r in pair.relay.received
            if sender(pair, r) == "noc-a" and r.at > cut + SEND_FOR_S]  # fmt: skip
    assert not late
    pair.topo.restore_journal("noc")
    until(lambda: a.cluster().get("role") == "standby" and both_fresh(a), 30, "noc-a back")
    pair.topo.restore_all()
    until(lambda: to(pair.relay, CUSTOMER, "recovered"), 10, "the recovered notice")
    until(
        lambda: int(pair.sql("SELECT count(*) FROM path_changes WHERE node = 'noc-a' "
                             "AND state = 'up'")[0][0]) >= 8,
        20, "noc-a's own view written again",
    )  # fmt: skip
    time.sleep(2 * RENEW_S)
    once(pair.relay, CUSTOMER, "opened")
    once(pair.relay, CUSTOMER, "recovered")
    assert len(pair.sql("SELECT id FROM incidents")) == 1
    pair.check_journal()


def test_one_noc_host_cut_from_the_paths(pair: Pair) -> None:
    a, b = pair.start()
    for ns, n in (("noc", a), ("nb", b)):  # the leader cut off, then the standby
        before = len(to(pair.relay, NOC, "vantage-disagree"))
        pair.topo.cut_paths(ns)
        until(lambda n=n: all_down(n), 10, f"{n.name} cut off")
        until(lambda before=before: len(to(pair.relay, NOC, "vantage-disagree")) > before, 15,
              f"a disagreement alert with {n.name} cut off")  # fmt: skip
        pair.topo.restore_paths(ns)
        until(lambda n=n: all_up(n), 10, f"{n.name} back")
    time.sleep(2 * RENEW_S)
    alerts = to(pair.relay, NOC, "vantage-disagree")
    assert len(alerts) == 2 and len({r.message_id for r in alerts}) == 2
    assert not [r for r in pair.relay.received if CUSTOMER in r.rcpt_tos]
    assert pair.sql("SELECT id FROM incidents") == []
    views = pair.sql("SELECT views FROM disagreements ORDER BY id")
    assert len(views) == 2 and all("noc-a" in v[0] and "noc-b" in v[0] for v in views)
    pair.check_journal()


def test_journal_restarted_mid_outage(pair: Pair) -> None:
    a, b = pair.start()
    pair.topo.cut_all()
    until(lambda: to(pair.relay, CUSTOMER, "opened"), 10, "the opened notice")
    pair.pg.stop()
    try:
        pair.topo.restore_all()  # the outage ends while the journal is down
        until(lambda: all_up(a) and all_up(b), 10, "both nodes seeing the paths up")
    finally:
        pair.pg.start_again()
    until(lambda: to(pair.relay, CUSTOMER, "recovered"), 20, "the recovered notice")
    for n in (a, b):
        until(lambda n=n: both_fresh(n), 20, f"{n.name} reconnected")
    time.sleep(2 * RENEW_S)
    once(pair.relay, CUSTOMER, "opened")
    once(pair.relay, CUSTOMER, "recovered")
    [(end,)] = pair.sql('SELECT "end" FROM incidents')
    assert end  # closed in the journal
    for node in ("noc-a", "noc-b"):  # each node's whole view reached the journal
        rows = pair.sql(f"SELECT state, count(*) FROM path_changes WHERE node = '{node}' "
                        "GROUP BY state ORDER BY state")  # fmt: skip
        assert rows == [["down", "4"], ["up", "8"]], (node, rows)
    pair.check_journal()


def test_outage_seen_by_both_is_one_incident_over_the_intersection(pair: Pair) -> None:
    a, b = pair.start()
    pair.topo.cut_all()
    until(lambda: to(pair.relay, CUSTOMER, "opened"), 10, "the opened notice")
    until(lambda: all_down(b), 10, "noc-b seeing the outage")
    pair.topo.restore_all()
    until(lambda: to(pair.relay, CUSTOMER, "recovered"), 10, "the recovered notice")
    until(lambda: all_up(b), 10, "noc-b seeing the paths again")
    time.sleep(2 * RENEW_S)
    once(pair.relay, CUSTOMER, "opened")
    once(pair.relay, CUSTOMER, "recovered")
    assert not to(pair.relay, NOC, "vantage-disagree")
    [incident] = a.daemon.incidents()
    assert incident["single_vantage"] is False
    starts, ends = {}, {}
    for node in ("noc-a", "noc-b"):
        rows = pair.sql(f"SELECT state, since FROM path_changes WHERE node = '{node}' "
                        "ORDER BY id")[4:]  # after the first 4 ups  # fmt: skip
        downs = [int(s) for st, s in rows if st == "down"]
        ups = [int(s) for st, s in rows if st == "up"]
        assert len(downs) == 4 and len(ups) == 4, (node, rows)
        starts[node], ends[node] = max(downs), min(ups)
    [(start, end)] = pair.sql('SELECT start, "end" FROM incidents')
    assert int(start) == max(starts.values())  # the last node's last path began to fail
    assert int(end) == min(ends.values())  # the first node's first path answered
    detail = a.get(f"/api/incidents/{incident['id']}")
    paths = [e["text"] for e in detail["timeline"] if e["kind"] == "path"]
    assert any(t.startswith("noc-a:") for t in paths) and any(t.startswith("noc-b:") for t in paths)
    for node in ("noc-a", "noc-b"):  # each node's own view, whole, beside the intersection
        [view] = detail["node_views"][node]
        assert (us(view["start"]), us(view["end"])) == (starts[node], ends[node]), (node, view)
    page = a.daemon.text(f"/incidents/{incident['id']}")  # the web UI shows both views
    assert "As each NOC host saw it" in page or "各監視拠点からの見え方" in page
    assert "<td>noc-a</td>" in page and "<td>noc-b</td>" in page
    assert datetime.fromisoformat(incident["start"]) < datetime.fromisoformat(incident["end"])
    pair.check_journal()
    # the customer's claim pack of an incident both nodes saw: both views, and it holds up
    key, pack, n = pair.tmp / "pack.key", pair.tmp / "pack.zip", incident["id"]
    assert pair.slawatch("evidence", "keygen", "-o", str(key)).returncode == 0
    made = pair.slawatch("evidence", str(n), "-o", str(pack), "--key-file", str(key))
    assert made.returncode == 0, made.stderr
    checked = pair.slawatch("evidence", "verify", str(pack), "--public-key", f"{key}.pub")
    assert checked.returncode == 0, checked.stderr
    with zipfile.ZipFile(pack) as z:
        figures = json.loads(z.read(f"incident-{n}.json"))
        assert figures["single_vantage"] is False
        assert set(figures["node_views"]) == {"noc-a", "noc-b"}  # each host's own view
        entries = json.loads(z.read(f"timeline-{n}.json"))
        seen = {e["text"].split(":")[0] for e in entries if e["kind"] == "path"}
        assert {"noc-a", "noc-b"} <= seen
        chain = [json.loads(line) for line in z.read("chain.jsonl").splitlines()]
        rows = [json.loads(r["body"])["row"] for r in chain if r["kind"] == "path_changes"]
        assert {"noc-a", "noc-b"} <= {r["node"] for r in rows}
        notices = [m for m in z.namelist() if m.startswith("notices/") and m.endswith(".eml")]
        assert len(notices) == 2  # opened and recovered, each as sent


def test_cluster_api_and_status(pair: Pair) -> None:
    a, b = pair.start()
    va, vb = a.cluster(), b.cluster()
    assert (va["node"], va["role"], vb["node"], vb["role"]) == ("noc-a", "leader", "noc-b",
                                                                "standby")  # fmt: skip
    for v in (va, vb):
        assert v["mode"] == "cluster" and v["leader"] == "noc-a" and v["epoch"] >= 1
        assert 0 < v["lease_left_s"] <= LEASE_S and (v["lease_s"], v["renew_s"]) == (6.0, 1.0)
        assert [n["name"] for n in v["nodes"]] == ["noc-a", "noc-b"]
        assert all(n["freshness"] == "fresh" and n["age_s"] < 3 for n in v["nodes"])
    shown = pair.topo.ns_exec(
        "noc", sys.executable, "-m", "monitor", "status", "--config", str(a.daemon.cfg)
    )
    assert "cluster: this node noc-a (leader); leader noc-a, epoch" in shown.stdout
    assert "noc-b" in shown.stdout and "standby" in shown.stdout
    offline = pair.topo.ns_exec(
        "noc", sys.executable, "-m", "monitor", "status", "--config", str(a.daemon.cfg),
        "--via", "journal",
    )  # fmt: skip
    assert "cluster: this node noc-a (offline); leader noc-a, epoch" in offline.stdout
    assert pair.sql("SELECT count(*) FROM gaps") == [["0"]]  # one node ran all along
    a.signal(signal.SIGKILL)
    until(b.leads, TAKEOVER_S + 5, "noc-b leading")
    stale = until(
        lambda: [n for n in b.cluster()["nodes"] if n["name"] == "noc-a"
                 and n["freshness"] == "stale"], 10, "noc-a stale")  # fmt: skip
    assert stale[0]["age_s"] > 1
    pair.check_journal()


def us(iso: str) -> int:
    """An API time as the journal's integer microseconds since the epoch."""
    return (datetime.fromisoformat(iso) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
