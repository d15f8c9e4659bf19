"""The SNMP end-to-end set-up: the real daemon in the NOC namespace, real snmpd in both
routers, two circuits (``er-test-1`` probed by ICMP with its routers polled for evidence,
``er-snmp-1`` whose four paths SNMP decides) and the trap receiver on ``TRAP_PORT``.

Probes are deliberately slow (every ``SLOW`` s, fail_after 3): the schedule alone needs 6 s or
more to confirm a cut, so a cut confirmed in under 2 s was confirmed by a trap's burst.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.daemon import Daemon
from tests.snmp_agents import COMMUNITY, Agents
from tests.topology import Topology

TRAP_PORT = 16162
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
SLOW = 3.0
TRAP_DEST = {"active": "198.18.1.1", "standby": "198.18.1.5"}
"""Where each router reaches the NOC (the daemon's trap receiver listens on every address)."""


def routers(topo: Topology, secret: Path) -> dict[str, Any]:
    return {
        role: {
            "address": topo.router_address(role),
            "snmp": {"version": "2c", "community": {"file": str(secret)}},
            "poll_interval_s": 1,
            "timeout_s": 0.5,
            "interfaces": {"primary": {"if_name": "to-dp"}, "secondary": {"if_descr": "to-ds"}},
        }
        for role in ("active", "standby")
    }


def peer(topo: Topology, router: str) -> str:
    """The BGP peer ``launch(bgp=True)`` gives each router's primary demarc of er-snmp-1."""
    return topo.path_address(router, "primary")


def launch(
    topology: Topology, tmp_path: Path, *, bgp: bool = False, endless: tuple[str, ...] = ()
) -> tuple[Daemon, Agents]:
    """snmpd in both routers, then the daemon; the caller stops both (``stop``). ``bgp``:
    er-snmp-1's primary paths also need their router's BGP peer (``peer``) established.
    ``endless``: routers whose agent's walk of ifName never ends (snmp_agents.py)."""
    agents = Agents.start(topology, tmp_path, endless=endless)
    secret = tmp_path / "community"
    secret.write_text(COMMUNITY + "\n", encoding="utf-8")
    snmp_routers = routers(topology, secret)
    if bgp:
        for role, r in snmp_routers.items():
            agents.set_bgp(role, peer(topology, role), 6)
            r["bgp_peers"] = {"primary": peer(topology, role)}
    snmp_only = {
        "id": "er-snmp-1",
        "monthly_fee_yen": 100000,
        "contacts": ["fault@customer.example"],
        # SNMP decides these paths: their addresses answer nothing, so ICMP would say down
        "paths": [
            {"router": r, "demarc": d, "address": topology.unanswered_address, "probe": "snmp"}
            for r in ("active", "standby")
            for d in ("primary", "secondary")
        ],
        "routers": snmp_routers,
    }
    extra = {
        "probe_interval_s": SLOW,
        "probe_timeout_s": 0.5,
        "circuit": {"routers": routers(topology, secret)},
        "more_circuits": [snmp_only],
        "snmp_traps": {"listen": f"0.0.0.0:{TRAP_PORT}", "community": {"file": str(secret)}},
    }
    try:
        return Daemon.launch(topology, tmp_path, extra=extra), agents
    except BaseException:
        agents.stop()
        raise


def stop(d: Daemon, agents: Agents, topology: Topology) -> None:
    d.ensure_stopped()
    agents.stop()
    topology.restore_all()


def paths(d: Daemon, circuit: str) -> list[dict[str, Any]]:
    for c in d.get("/api/circuits") or []:
        if c["id"] == circuit:
            return list(c["paths"])
    return []


def path(d: Daemon, circuit: str, router: str, demarc: str) -> dict[str, Any]:
    for p in paths(d, circuit):
        if (p["router"], p["demarc"]) == (router, demarc):
            return dict(p)
    return {}


def all_up(d: Daemon, circuit: str) -> bool:
    states = paths(d, circuit)
    return bool(states) and all(p["state"] == "up" for p in states)


def counter(d: Daemon, name: str) -> float:
    """The sum of a counter's samples on /metrics (every label set; or the one sample, if
    ``name`` has its labels: ``name{reason="x"}``)."""
    total = 0.0
    for line in d.text("/metrics").splitlines():
        if line.startswith((name + "{", name + " ")):
            total += float(line.rsplit(" ", 1)[1])
    return total
