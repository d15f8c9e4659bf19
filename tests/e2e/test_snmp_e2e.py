"""End to end with SNMP: the real daemon in the NOC namespace, real snmpd in the routers,
traps from ``snmptrap``, links cut with ``ip link set down`` (the set-up: snmp_daemon.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.snmp_daemon import (
    LINK_DOWN,
    SLOW,
    TRAP_DEST,
    TRAP_PORT,
    all_up,
    counter,
    launch,
    path,
    peer,
    stop,
)
from tests.snmp_agents import V3_AUTH, V3_PRIV, Agents, send_trap
from tests.topology import Topology

pytestmark = pytest.mark.netns


def test_trap_confirms_a_cut_in_under_two_seconds(snmp_daemon: tuple[Daemon, Agents], topology):
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1"), 20, "all ICMP paths up")
    topology.cut("active", "primary")
    sent = time.monotonic()
    send_trap(
        topology, "active", f"198.18.1.1:{TRAP_PORT}", LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.3", "i", "3"
    )  # fmt: skip  (ifIndex 3 = to-dp in ra)
    d.wait_for(lambda: path(d, "er-test-1", "active", "primary")["state"] == "down", 5, "down")
    confirmed = time.monotonic() - sent
    print(f"trap-triggered cut confirmed in {confirmed:.2f} s")
    assert confirmed < 2.0, f"trap-triggered cut took {confirmed:.2f} s"
    assert path(d, "er-test-1", "standby", "primary")["state"] == "up"
    # the router's own view arrives too (snmpd refreshes its ifTable every few seconds)
    snmp = d.wait_for(
        lambda: path(d, "er-test-1", "active", "primary")["snmp"].get("ifOperStatus", {}).get(
            "ok") is False, 10, "ifOperStatus down")  # fmt: skip
    assert snmp


def test_incident_timeline_shows_the_traps_and_the_routers_view(
    snmp_daemon: tuple[Daemon, Agents], topology: Topology
):
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1"), 20, "all ICMP paths up")
    topology.cut_all()
    sent = time.monotonic()
    for router in ("active", "standby"):
        send_trap(
            topology, router, f"198.18.1.{1 if router == 'active' else 5}:{TRAP_PORT}", LINK_DOWN
        )  # fmt: skip  (names no interface: every path of the router)
    incident = d.wait_for(lambda: d.incidents(), 5, "an incident")[0]
    assert time.monotonic() - sent < 2.0
    time.sleep(4)  # let the pollers see the links down
    detail = d.get(f"/api/incidents/{incident['id']}")
    texts = [e["text"] for e in detail["timeline"] if e["kind"] == "snmp"]
    assert any("trap linkDown" in t for t in texts), texts
    assert any("ifOperStatus" in t and "down" in t for t in texts), texts


def test_snmp_probed_paths_follow_the_router(
    snmp_daemon: tuple[Daemon, Agents], topology: Topology
):
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-snmp-1"), 20, "SNMP-probed paths up (ICMP would fail)")
    topology.cut("standby", "secondary")
    d.wait_for(lambda: path(d, "er-snmp-1", "standby", "secondary")["state"] == "down", 15,
               "SNMP-probed path down")  # fmt: skip
    assert path(d, "er-snmp-1", "active", "secondary")["state"] == "up"
    topology.restore("standby", "secondary")
    d.wait_for(lambda: all_up(d, "er-snmp-1"), 15, "SNMP-probed path up again")


def test_without_a_trap_the_schedule_is_slower(snmp_daemon: tuple[Daemon, Agents], topology):
    """The control for the first test: the same cut, no trap, takes fail_after intervals."""
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1"), 20, "all ICMP paths up")
    topology.cut("active", "secondary")
    cut = time.monotonic()
    d.wait_for(lambda: path(d, "er-test-1", "active", "secondary")["state"] == "down", 20, "down")
    took = time.monotonic() - cut
    print(f"scheduled probes confirmed the cut in {took:.2f} s")
    assert took > 2.0 * SLOW - 1.0, took


def test_an_agent_answering_garbage_fails_its_path_and_polling_goes_on(
    topology: Topology, tmp_path: Path
):
    """The agent answers bgpPeerState with a string: the path SNMP decides reads that as a
    failed probe (its other readings are up), and polling goes on, so the path comes back
    when the agent does. (The poller raised, and the router's poll loop ended unseen: its
    SNMP paths kept their last state for ever, up through any cut.)"""
    d, agents = launch(topology, tmp_path, bgp=True)
    try:
        d.wait_for(lambda: all_up(d, "er-snmp-1"), 20, "SNMP-probed paths up")
        agents.set_bgp_raw("active", peer(topology, "active"), "string", "established")
        d.wait_for(lambda: path(d, "er-snmp-1", "active", "primary")["state"] == "down", 15,
                   "a garbage answer read as a failed probe")  # fmt: skip
        bgp = path(d, "er-snmp-1", "active", "primary")["snmp"]["bgpPeerState"]
        assert "not an integer" in bgp["text"], bgp
        assert path(d, "er-snmp-1", "active", "secondary")["state"] == "up"
        agents.set_bgp("active", peer(topology, "active"), 6)
        d.wait_for(lambda: path(d, "er-snmp-1", "active", "primary")["state"] == "up", 15,
                   "the path up again: polling went on")  # fmt: skip
    finally:
        stop(d, agents, topology)


GARBAGE = """
import socket, sys
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(300):  # each different, as a scan or a fuzzer sends them
    out.sendto(b"hello %d" % n, (sys.argv[1], int(sys.argv[2])))
"""


def test_refused_traps_are_counted_and_garbage_does_not_flood_the_log(
    snmp_daemon: tuple[Daemon, Agents], topology: Topology, tmp_path: Path
):
    """A wrong community, an unknown v3 user and datagrams that are no SNMP at all are
    dropped, counted by reason, and logged once; the receiver goes on taking traps. (They
    were counted nowhere, though the README said so, and each garbage datagram logged
    asyncio's 'Exception in callback' with a traceback: 300 of them, ~8,000 lines.)"""
    d, _ = snmp_daemon
    d.wait_for(lambda: all_up(d, "er-test-1"), 20, "all ICMP paths up")
    log_lines = len((tmp_path / "daemon.log").read_text().splitlines())
    dest = f"{TRAP_DEST['active']}:{TRAP_PORT}"
    send_trap(topology, "active", dest, LINK_DOWN, community="guess")
    topology.ns_exec(
        "ra", "snmptrap", "-v3", "-e", "8000000001020304", "-u", "stranger", "-l", "authPriv",
        "-a", "SHA", "-A", V3_AUTH, "-x", "AES", "-X", V3_PRIV, "-m", "", "-M", "/nonexistent",
        dest, "", LINK_DOWN,
    )  # fmt: skip
    topology.ns_exec("ra", sys.executable, "-c", GARBAGE, TRAP_DEST["active"], str(TRAP_PORT))
    before = counter(d, "slawatch_snmp_traps_total")
    send_trap(topology, "active", dest, LINK_DOWN)
    d.wait_for(lambda: counter(d, "slawatch_snmp_traps_total") > before, 5, "a good trap taken")
    refused = {
        reason: counter(d, f'slawatch_snmp_traps_refused_total{{reason="{reason}"}}')
        for reason in ("community", "v3_user", "unparsable")
    }
    assert refused["community"] == 1 and refused["v3_user"] == 1, refused
    assert 250 <= refused["unparsable"] <= 300, refused  # (UDP: a few may be lost)
    added = (tmp_path / "daemon.log").read_text().splitlines()[log_lines:]
    print(f"refused {refused}; {len(added)} log lines")
    assert len(added) < 30, added[:40]


def test_an_agent_whose_walk_never_ends_fails_its_paths_instead_of_freezing_them(
    topology: Topology, tmp_path: Path
):
    """The active router's agent answers a walk of ifName for ever (ifName.N, ifName.N+1,
    ...). A poll has a deadline: the paths SNMP decides behind that router read it as a
    failed probe, and the standby router's are polled as ever. (The poll never returned: the
    router's poll loop hung on it, silently, and its paths had no state at all.)"""
    d, agents = launch(topology, tmp_path, endless=("active",))
    try:
        d.wait_for(lambda: path(d, "er-snmp-1", "standby", "primary")["state"] == "up", 20,
                   "the standby router's SNMP-probed paths up")  # fmt: skip
        d.wait_for(lambda: path(d, "er-snmp-1", "active", "primary")["state"] == "down", 40,
                   "the endless agent's paths down")  # fmt: skip
        reading = path(d, "er-snmp-1", "active", "primary")["snmp"]["ifOperStatus"]
        assert reading["ok"] is None and "no complete answer" in reading["text"], reading
        assert path(d, "er-snmp-1", "standby", "secondary")["state"] == "up"
    finally:
        stop(d, agents, topology)
