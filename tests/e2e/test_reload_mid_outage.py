"""End to end: a configuration reloaded (SIGHUP) while an outage is open (issue 10, fault 1).

Against a real daemon in the NOC namespace, real ICMP, the real journal: changing one path's
address keeps the incident (same id, same start); removing the circuit closes its incident at
the reload, says why, tells the contacts, and the journal agrees after a restart. Before the
fix, both left the incident open in the journal for ever (a phantom outage growing until the
next blip: 8 s recorded as 42.7 s; with the clock 20 days on, the whole fee).
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
import yaml

from monitor.store import open_store
from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.topology import Topology

pytestmark = pytest.mark.netns


def reload(d: Daemon, change: Any) -> None:
    data = yaml.safe_load(d.cfg.read_text())
    change(data)
    d.cfg.write_text(yaml.safe_dump(data))
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)


def open_incident(d: Daemon) -> int | None:
    circuits = d.get("/api/circuits") or []
    return circuits[0]["open_incident"] if circuits else None


def test_a_new_address_for_one_path_keeps_the_open_incident(
    daemon: Daemon, topology: Topology
) -> None:
    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    topology.cut_all()
    first = daemon.wait_for(lambda: daemon.incidents(), 10, "an incident")[0]

    def move(data: dict[str, Any]) -> None:  # active/primary now points at a dead address
        data["circuits"][0]["paths"][0]["address"] = topology.unanswered_address

    reload(daemon, move)
    daemon.wait_for(lambda: "configuration reloaded" in daemon.log.read_text(), 10, "reload")
    assert open_incident(daemon) == first["id"]  # same incident: same id, same start
    topology.restore("active", "secondary")  # a path that answers: the outage ends
    ended = daemon.wait_for(
        lambda: [i for i in daemon.incidents() if i["end"] is not None], 15, "the end"
    )
    assert [(i["id"], i["start"]) for i in ended] == [(first["id"], first["start"])]
    assert len(daemon.incidents()) == 1  # no second, phantom incident


def test_removing_the_circuit_closes_its_incident_and_the_journal_agrees(
    daemon: Daemon, topology: Topology
) -> None:
    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    topology.cut_all()
    first = daemon.wait_for(lambda: daemon.incidents(), 10, "an incident")[0]

    def rename(data: dict[str, Any]) -> None:  # er-test-1 goes, er-test-2 comes
        data["circuits"][0]["id"] = "er-test-2"

    reload(daemon, rename)
    daemon.wait_for(
        lambda: [c["id"] for c in daemon.get("/api/circuits") or []] == ["er-test-2"], 10, "reload"
    )
    maildir = daemon.cfg.parent / "maildir" / "new"
    daemon.wait_for(
        lambda: (
            maildir.is_dir()  # none yet while the first notice is on its way
            and any(b"X-Slawatch-Kind: recovered" in f.read_bytes() for f in maildir.iterdir())
        ),
        15,
        "the recovered notice",
    )
    assert daemon.stop() == 0
    daemon.start()  # a restart: nothing of er-test-1 is open again
    daemon.wait_for(lambda: daemon.get("/healthz") is not None, 15, "the restart")
    assert daemon.stop() == 0
    store = open_store(daemon.cfg.parent / "journal.db")
    try:
        stored = store.incident(first["id"])
        assert stored is not None and stored.end is not None
        assert stored.closed_reason == "removed from monitoring"
        assert not [i for i in store.incidents() if i.end is None and i.circuit == "er-test-1"]
    finally:
        store.close()


def test_path_gauges_are_there_right_after_a_restart(daemon: Daemon) -> None:
    """Issue 10, fault 5: after a restart ``slawatch_path_up`` was absent until a path changed,
    so a "path down" alert could not fire. The restored states are gauges at once."""
    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    assert daemon.stop() == 0
    daemon.start()
    text = daemon.text("/metrics")  # the first scrape after the start
    ups = [line for line in text.splitlines() if line.startswith("slawatch_path_up{")]
    assert len(ups) == 4 and all(line.endswith(" 1.0") for line in ups), ups


def test_a_new_journal_never_reuses_a_message_id(daemon: Daemon, topology: Topology) -> None:
    """Issue 10, fault 6: incident numbers restart at 1 in a new journal, and so did the
    Message-IDs: a customer's mail joined two outages as one. The journal's id is in each."""
    maildir = daemon.cfg.parent / "maildir" / "new"

    def opened() -> list[str]:
        files = maildir.iterdir() if maildir.is_dir() else []
        return sorted(
            line.split(":", 1)[1].strip()
            for f in files
            for line in f.read_text(errors="replace").splitlines()
            if line.startswith("Message-ID:") and b"X-Slawatch-Kind: opened" in f.read_bytes()
        )

    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    topology.cut_all()
    first = daemon.wait_for(opened, 15, "the first opened notice")
    assert daemon.stop() == 0
    journal = daemon.cfg.parent / "journal.db"
    for f in daemon.cfg.parent.glob("journal.db*"):  # a new journal, as after a reinstall
        f.rename(f.with_name(f.name.replace("journal", "old-journal")))
    assert not journal.exists()
    daemon.start()
    both = daemon.wait_for(lambda: len(opened()) == 2 and opened(), 15, "the second notice")
    assert len(set(both)) == 2 and first[0] in both
