"""A trap flood against the real daemon: thousands of linkDown traps from both routers' own
addresses, naming an interface that stays up (snmp_daemon.py has the set-up).

A trap asks for a burst of re-probes; a flood must not turn into a flood of SNMP polls (the
router's agent, or its control plane's rate limit, then stops answering and every path SNMP
decides goes down: a false outage, a notice to the customer and a credit the carrier does
not owe) nor into a flood of ICMP rounds, nor a journal record for every trap (each path's
evidence is kept, at a bounded rate, with the count of those held back).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.snmp_daemon import (
    IF_INDEX,
    LINK_DOWN,
    SLOW,
    TRAP_DEST,
    TRAP_PORT,
    all_up,
    counter,
    path,
    paths,
)
from tests.snmp_agents import Agents, flood, trap_packet
from tests.topology import Topology

pytestmark = pytest.mark.netns

RATE = 200.0
"""Traps a second from each router."""
SECONDS = 8.0


def start_floods(topology: Topology, if_index: int) -> list:  # type: ignore[type-arg]
    packet = trap_packet(LINK_DOWN, f"{IF_INDEX}.{if_index}", "i", str(if_index))
    return [
        flood(topology, r, (TRAP_DEST[r], TRAP_PORT), packet, rate=RATE, seconds=SECONDS)
        for r in ("active", "standby")
    ]


def test_a_trap_flood_fakes_no_outage_and_does_not_storm_the_routers(
    snmp_daemon: tuple[Daemon, Agents], topology: Topology, tmp_path: Path
):
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1") and all_up(d, "er-snmp-1"), 30, "every path up")
    polls, probes = counter(d, "slawatch_snmp_polls_total"), counter(d, "slawatch_probes_total")
    floods = start_floods(topology, 3)  # ifIndex 3 is to-dp, which stays up throughout
    went_down: set[tuple[str, str, str]] = set()
    while any(f.poll() is None for f in floods):
        for circuit in ("er-test-1", "er-snmp-1"):
            went_down |= {
                (circuit, p["router"], p["demarc"]) for p in paths(d, circuit) if p["state"] != "up"
            }
        time.sleep(0.1)
    sent = sum(int(f.communicate()[0]) for f in floods)
    traps = counter(d, "slawatch_snmp_traps_total")
    polls = counter(d, "slawatch_snmp_polls_total") - polls
    probes = counter(d, "slawatch_probes_total") - probes
    print(f"{sent} traps sent, {traps:.0f} received: {polls:.0f} SNMP readings, "
          f"{probes:.0f} ICMP results")  # fmt: skip
    assert traps >= 200, f"the flood did not reach the daemon ({traps:.0f} of {sent})"
    assert not went_down, f"paths went down in a trap flood, with no link down: {went_down}"
    assert d.get("/api/incidents?circuit=er-snmp-1") == []
    # unflooded: 2 readings a second from each of 4 routers' polls; a burst per router at a
    # time (3 polls, each 2 readings) with at most one more queued
    assert polls < 40 * SECONDS * 4, polls
    assert probes < 40 * SECONDS * 4, probes
    # 4 paths named (primary, both routers, both circuits): 10 at once, then 1 a second each
    notes = trap_notes(tmp_path)
    print(f"{len(notes)} traps recorded in the journal")
    assert 4 <= len(notes) < 4 * (10 + 2 * SECONDS), len(notes)
    assert any("held back" in n for n in notes), notes[-5:]


def trap_notes(tmp: Path) -> list[str]:
    """The texts of the traps the daemon's journal recorded."""
    db = sqlite3.connect(f"file:{tmp / 'journal.db'}?mode=ro", uri=True, timeout=5)
    try:
        return [t for (t,) in db.execute("SELECT text FROM snmp_evidence WHERE kind = 'trap'")]
    finally:
        db.close()


def test_a_cut_in_a_trap_flood_is_still_confirmed_at_once(
    snmp_daemon: tuple[Daemon, Agents], topology: Topology
):
    """A trap that arrives while its paths' burst is running gets a burst of its own after
    it (never dropped): the cut is confirmed by bursts, not by the slow schedule."""
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1"), 30, "every ICMP path up")
    floods = start_floods(topology, 3)
    try:
        time.sleep(2)
        topology.cut("active", "primary")  # to-dp: what the flood's traps name
        cut = time.monotonic()
        d.wait_for(lambda: path(d, "er-test-1", "active", "primary")["state"] == "down", 10,
                   "the cut path down")  # fmt: skip
        took = time.monotonic() - cut
    finally:
        for f in floods:
            f.communicate()
    print(f"cut confirmed in {took:.2f} s in a trap flood")
    assert took < 2.0 * SLOW - 1.0, took  # faster than the schedule could (6 s and more)
    assert path(d, "er-test-1", "standby", "primary")["state"] == "up"
