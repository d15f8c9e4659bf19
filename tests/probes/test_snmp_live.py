"""SNMP polling and traps against real snmpd agents in the router namespaces.

The poller and the trap receiver run in the NOC namespace (snmp_server.py); snmpd runs in
the routers' namespaces; links are cut with ``ip link set down`` and renumbered by
re-creating them; traps are sent with Net-SNMP's ``snmptrap``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.probes.snmp.model import IF_DESCR, IF_NAME
from tests.probes.nsengine import EngineProcess
from tests.snmp_agents import (
    COMMUNITY,
    NOC_V6,
    ROUTER_V6,
    TRAP_ENGINE_ID,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    Agents,
    send_trap,
)
from tests.topology import Topology

pytestmark = pytest.mark.netns

TRAP_PORT = 16162
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
V3 = {"user": V3_USER, "auth_protocol": "sha", "auth_key": V3_AUTH, "priv_protocol": "aes",
      "priv_key": V3_PRIV}  # fmt: skip


@pytest.fixture(scope="module")
def agents(icmp_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agents]:
    running = Agents.start(icmp_topology, tmp_path_factory.mktemp("snmpd"), ipv6=True)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def snmp(icmp_topology: Topology, agents: Agents) -> Iterator[EngineProcess]:
    proc = EngineProcess(icmp_topology, module="tests.probes.snmp_server")
    try:
        assert proc.hello == {"mode": "snmp"}, proc.hello
        yield proc
    finally:
        proc.close()


def agent(topo: Topology, router: str = "active", **kw: Any) -> dict[str, Any]:
    spec = {"host": topo.router_address(router), "credentials": {"community": COMMUNITY}}
    return {**spec, "timeout_s": 1.0, "retries": 1, **kw}


def poll(snmp: EngineProcess, spec: dict[str, Any], **req: Any) -> dict[str, dict[str, Any]]:
    answer = snmp.call(op="poll", agent=spec, **req)
    assert "readings" in answer, answer
    return {f"{r['kind']}:{r['key']}": r for r in answer["readings"]}


FACING = {"primary": [IF_NAME, "to-dp"], "secondary": [IF_DESCR, "to-ds"]}


def wait_reading(snmp: EngineProcess, spec: dict[str, Any], key: str, ok: bool) -> dict[str, Any]:
    """Poll until reading ``key`` has ``ok`` (snmpd caches its ifTable for a few seconds)."""
    deadline = time.monotonic() + 15
    while True:
        got = poll(snmp, spec, interfaces=FACING)[key]
        if got["ok"] is ok or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_v2c_poll_sees_both_demarc_interfaces_up(snmp: EngineProcess, icmp_topology: Topology):
    icmp_topology.restore_all()
    got = poll(snmp, agent(icmp_topology), interfaces=FACING)
    assert got["ifOperStatus:primary"]["ok"] is True, got
    assert got["ifOperStatus:primary"]["value"] == 1
    assert "to-dp" in got["ifOperStatus:primary"]["text"]
    assert got["ifOperStatus:secondary"]["ok"] is True, got


def test_cut_link_reads_down_then_up_again(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology)
    icmp_topology.cut("active", "primary")
    try:
        down = wait_reading(snmp, spec, "ifOperStatus:primary", False)
        assert down["ok"] is False and down["value"] == 2, down
        assert poll(snmp, spec, interfaces=FACING)["ifOperStatus:secondary"]["ok"] is True
    finally:
        icmp_topology.restore("active", "primary")
    assert wait_reading(snmp, spec, "ifOperStatus:primary", True)["ok"] is True


def test_v3_authpriv_poll(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology, "standby", credentials=V3)
    got = poll(snmp, spec, interfaces=FACING)
    assert got["ifOperStatus:primary"]["ok"] is True, got


def test_v3_wrong_key_is_an_error_result(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology, "standby", credentials={**V3, "priv_key": "not-the-key-1"},
                 timeout_s=0.5, retries=0)  # fmt: skip
    got = poll(snmp, spec, interfaces=FACING)["ifOperStatus:primary"]
    assert got["ok"] is None and got["error"], got


def test_unreachable_agent_is_a_result_not_a_crash(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology, host=icmp_topology.unanswered_address, timeout_s=0.3, retries=1)
    started = time.monotonic()
    got = poll(snmp, spec, interfaces=FACING, peers={"primary": "198.18.2.2"})
    elapsed = time.monotonic() - started
    assert set(got) == {"ifOperStatus:primary", "ifOperStatus:secondary", "bgpPeerState:primary"}
    assert all(r["ok"] is None and "No SNMP response" in r["error"] for r in got.values()), got
    assert elapsed < 3.0, elapsed  # 2 attempts x 0.3 s, not a hang


def test_wrong_community_times_out_as_a_result(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology, credentials={"community": "wrong"}, timeout_s=0.3, retries=0)
    got = poll(snmp, spec, interfaces=FACING)["ifOperStatus:primary"]
    assert got["ok"] is None and "No SNMP response" in got["error"], got


def test_unknown_interface_is_named_in_the_error(snmp: EngineProcess, icmp_topology: Topology):
    got = poll(snmp, agent(icmp_topology), interfaces={"primary": [IF_NAME, "xe-9/9/9"]})
    reading = got["ifOperStatus:primary"]
    assert reading["ok"] is None and "ifName=xe-9/9/9" in reading["error"], reading


def test_renumbered_interface_is_resolved_again(snmp: EngineProcess, icmp_topology: Topology):
    spec = agent(icmp_topology)
    before = poll(snmp, spec, interfaces=FACING)["ifOperStatus:primary"]
    assert before["ok"] is True, before
    icmp_topology.renumber("active", "primary")
    deadline = time.monotonic() + 15
    after = before
    while (after["text"] == before["text"] or not after["ok"]) and time.monotonic() < deadline:
        time.sleep(0.5)
        after = poll(snmp, spec, interfaces=FACING)["ifOperStatus:primary"]
    assert after["ok"] is True and after["text"] != before["text"], (before, after)
    assert "to-dp (ifIndex" in after["text"]


def test_bgp_peer_state(snmp: EngineProcess, icmp_topology: Topology, agents: Agents):
    spec = agent(icmp_topology)
    peer = icmp_topology.path_address("active", "primary")
    agents.set_bgp("active", peer, 6)
    up = poll(snmp, spec, peers={"primary": peer})["bgpPeerState:primary"]
    assert up["ok"] is True and up["text"] == f"peer {peer} established", up
    agents.set_bgp("active", peer, 1)
    idle = poll(snmp, spec, peers={"primary": peer})["bgpPeerState:primary"]
    assert idle["ok"] is False and idle["value"] == 1, idle
    agents.clear_bgp("active", peer)
    gone = poll(snmp, spec, peers={"primary": peer})["bgpPeerState:primary"]
    assert gone["ok"] is None and "no BGP peer" in gone["error"], gone


def test_a_wrongly_typed_answer_is_a_reading_with_an_error(
    snmp: EngineProcess, icmp_topology: Topology, agents: Agents
):
    """An agent that answers bgpPeerState with a string (a broken agent, a proxy) gives that
    reading an error; the other readings of the poll are unharmed, and nothing raises."""
    spec = agent(icmp_topology)
    peer = icmp_topology.path_address("active", "secondary")
    agents.set_bgp_raw("active", peer, "string", "established")
    try:
        answer = snmp.call(op="poll", agent=spec, interfaces=FACING, peers={"secondary": peer})
    finally:
        agents.clear_bgp("active", peer)
    assert "readings" in answer, answer
    got = {f"{r['kind']}:{r['key']}": r for r in answer["readings"]}
    bad = got["bgpPeerState:secondary"]
    assert bad["ok"] is None and "not an integer" in bad["error"], bad
    assert "OctetString" in bad["error"], bad
    assert got["ifOperStatus:primary"]["ok"] is True, got


def test_ipv6_agent_is_polled(snmp: EngineProcess, icmp_topology: Topology):
    """A router configured by an IPv6 address (the config takes one) is polled over IPv6."""
    spec = agent(icmp_topology, host=ROUTER_V6["active"])
    answer = snmp.call(op="poll", agent=spec, interfaces=FACING)
    assert "readings" in answer, answer
    got = {r["key"]: r for r in answer["readings"]}
    assert got["primary"]["ok"] is True and "to-dp" in got["primary"]["text"], got


def test_a_new_timeout_applies_to_an_agent_already_polled(
    snmp: EngineProcess, icmp_topology: Topology
):
    """A reload that raises a router's timeout_s (its agent is slow) must wait that long
    from the next poll on: the poller kept the first timeout for each agent's address."""
    host = icmp_topology.unanswered_address
    for timeout_s, low, high in ((0.3, 0.2, 1.0), (1.5, 1.4, 3.0)):
        spec = agent(icmp_topology, host=host, port=1161, timeout_s=timeout_s, retries=0)
        started = time.monotonic()
        got = poll(snmp, spec, interfaces=FACING)["ifOperStatus:primary"]
        elapsed = time.monotonic() - started
        assert got["ok"] is None and "No SNMP response" in got["error"], got
        assert low < elapsed < high, (timeout_s, elapsed)


@pytest.fixture(scope="module")
def receiver(snmp: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> EngineProcess:
    users = [[V3 | {"user": "trapper"}, TRAP_ENGINE_ID]]
    answer = snmp.call(op="listen", host="0.0.0.0", port=TRAP_PORT, communities=[COMMUNITY],
                       users=users)  # fmt: skip
    assert answer.get("address") == ["0.0.0.0", TRAP_PORT], answer
    return snmp


def test_link_down_trap_is_received_with_its_interface(
    receiver: EngineProcess, icmp_topology: Topology
):
    dest = f"198.18.1.1:{TRAP_PORT}"
    send_trap(icmp_topology, "active", dest, LINK_DOWN,
              "1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "2")  # fmt: skip
    traps = receiver.call(op="traps", count=1, wait=5)["traps"]
    assert len(traps) == 1, traps
    trap = traps[0]
    assert trap["source"] == icmp_topology.router_address("active")
    assert trap["kind"] == "linkDown" and trap["oid"] == LINK_DOWN
    assert trap["varbinds"]["1.3.6.1.2.1.2.2.1.8.3"] == 2


def test_trap_with_wrong_community_is_dropped(receiver: EngineProcess, icmp_topology: Topology):
    send_trap(icmp_topology, "active", f"198.18.1.1:{TRAP_PORT}", LINK_DOWN, community="guess")
    assert receiver.call(op="traps", count=1, wait=1)["traps"] == []


def test_v3_trap_from_a_known_engine(receiver: EngineProcess, icmp_topology: Topology):
    icmp_topology.ns_exec(
        "rs", "snmptrap", "-v3", "-e", TRAP_ENGINE_ID, "-u", "trapper", "-l", "authPriv",
        "-a", "SHA", "-A", V3_AUTH, "-x", "AES", "-X", V3_PRIV, "-m", "", "-M", "/nonexistent",
        f"198.18.1.5:{TRAP_PORT}", "", "1.3.6.1.2.1.15.7.2",
        "1.3.6.1.2.1.15.3.1.2.198.18.2.10", "i", "1",
    )  # fmt: skip
    traps = receiver.call(op="traps", count=1, wait=5)["traps"]
    assert [t["kind"] for t in traps] == ["bgpBackwardTransition"], traps
    assert traps[0]["source"] == icmp_topology.router_address("standby")


def test_a_receiver_on_ipv6_any_takes_ipv4_and_ipv6_traps(
    receiver: EngineProcess, icmp_topology: Topology
):
    """``listen: "[::]:162"`` takes IPv4 traps too (a dual-stack socket): their source is the
    router's IPv4 address, not ``::ffff:...``, so they match its configured address."""
    answer = receiver.call(op="listen", host="::", port=TRAP_PORT + 1, communities=[COMMUNITY])
    assert answer.get("address") == ["::", TRAP_PORT + 1], answer
    send_trap(icmp_topology, "active", f"198.18.1.1:{TRAP_PORT + 1}", LINK_DOWN)
    send_trap(icmp_topology, "active", f"udp6:[{NOC_V6['active']}]:{TRAP_PORT + 1}", LINK_DOWN)
    traps = receiver.call(op="traps", count=2, wait=5)["traps"]
    sources = sorted(t["source"] for t in traps)
    assert sources == sorted([icmp_topology.router_address("active"), ROUTER_V6["active"]])
