"""Real SNMP agents for tests: Debian's ``snmpd`` inside the router namespaces of a Topology.

Each agent listens on the router's NOC-facing address, port 161, and answers SNMPv2c
(community ``COMMUNITY``) and SNMPv3 authPriv (user ``V3_USER``, SHA/AES). Its IF-MIB is the
real one of the namespace (interfaces ``to-noc``, ``to-dp``, ``to-ds``; snmpd caches it, so a
change shows 2-3 s later). There is no BGP daemon here, so BGP4-MIB ``bgpPeerState`` is
served through snmpd's ``pass_persist`` hook from one file per peer (``set_bgp``): the agent and the
SNMP traffic are real, only the BGP state is set by the test (``set_bgp_raw``: any type and
value, as a broken agent might answer).

``ipv6=True`` also gives each router's NOC link an IPv6 address (``ROUTER_V6``, the NOC's end
``NOC_V6``) and the agent listens there too. The routers in ``endless`` answer a walk of
ifName that never ends (ifName.N, then ifName.N+1, ...: a broken agent), and no GET of it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import require_tool
from tests.topology import ROUTERS, Topology

COMMUNITY = "sw-test-community"
V3_USER = "slawatch"
V3_AUTH = "auth-key-for-tests"
V3_PRIV = "priv-key-for-tests"
TRAP_ENGINE_ID = "8000000001020304"
BGP_STATE = ".1.3.6.1.2.1.15.3.1.2"
ROUTER_V6 = {"active": "2001:db8:1::2", "standby": "2001:db8:1:4::2"}
NOC_V6 = {"active": "2001:db8:1::1", "standby": "2001:db8:1:4::1"}
"""Documentation prefixes, on the NOC <-> router links only (``ipv6=True``)."""

PASS_SCRIPT = """#!/bin/sh
# snmpd pass_persist hook: bgpPeerState.<peer> from the file $DIR/<peer> (GET only),
# which holds the type on its first line and the value on its second.
# (plain ``pass`` output is cached by snmpd for 30 s; pass_persist is asked every time)
DIR="$(dirname "$0")/bgp"
while read -r cmd; do
  case "$cmd" in
    PING) echo PONG ;;
    get) read -r oid; peer="${oid#BASE.}"
         if [ -f "$DIR/$peer" ]; then echo "$oid"; cat "$DIR/$peer"
         else echo NONE; fi ;;
    getnext) read -r oid; echo NONE ;;
    set) read -r oid; read -r value; echo not-writable ;;
    *) exit 0 ;;
  esac
done
""".replace("BASE", BGP_STATE)

IF_NAME = ".1.3.6.1.2.1.31.1.1.1.1"
ENDLESS_SCRIPT = """#!/bin/sh
# snmpd pass_persist hook over ifName (registered before IF-MIB's): GETNEXT ifName.N answers
# ifName.N+1, so a walk of the column never ends; GET answers nothing.
while read -r cmd; do
  case "$cmd" in
    PING) echo PONG ;;
    get) read -r oid; echo NONE ;;
    getnext) read -r oid; n="${oid#BASE}"; n="${n#.}"; n="${n%%.*}"; [ -z "$n" ] && n=0
             echo "BASE.$((n + 1))"; echo string; echo "if$n" ;;
    set) read -r oid; read -r value; echo not-writable ;;
    *) exit 0 ;;
  esac
done
""".replace("BASE", IF_NAME)


@dataclass
class Agents:
    """snmpd in each router namespace; ``stop`` ends them (also safe to call twice)."""

    topo: Topology
    root: Path
    ipv6: bool = False
    endless: tuple[str, ...] = ()
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        topo: Topology,
        root: Path,
        routers: tuple[str, ...] = ("active", "standby"),
        *,
        ipv6: bool = False,
        endless: tuple[str, ...] = (),
    ) -> Agents:
        require_tool("snmpd")
        agents = cls(topo=topo, root=root, ipv6=ipv6, endless=endless)
        try:
            for router in routers:
                agents._start(router)
        except BaseException:
            agents.stop()
            raise
        return agents

    def dir(self, router: str) -> Path:
        return self.root / f"snmpd-{router}"

    def _start(self, router: str) -> None:
        d = self.dir(router)
        (d / "bgp").mkdir(parents=True, exist_ok=True)
        script = d / "bgp.sh"
        script.write_text(PASS_SCRIPT, encoding="utf-8")
        script.chmod(0o755)
        listen = f"udp:{self.topo.router_address(router)}:161"
        if self.ipv6:
            r = ROUTERS[router]
            for ns, dev, address in (("noc", f"to-{r}", NOC_V6[router]),
                                     (r, "to-noc", ROUTER_V6[router])):  # fmt: skip
                self.topo.ns_exec(ns, "ip", "-6", "addr", "replace", f"{address}/64", "dev", dev,
                                  "nodad")  # fmt: skip
            listen += f",udp6:[{ROUTER_V6[router]}]:161"
        hooks = f"pass_persist {BGP_STATE} /bin/sh {script}\n"
        if router in self.endless:
            endless = d / "endless.sh"
            endless.write_text(ENDLESS_SCRIPT, encoding="utf-8")
            hooks += f"pass_persist -p 1 {IF_NAME} /bin/sh {endless}\n"
        (d / "snmpd.conf").write_text(
            f"agentAddress {listen}\n"
            f"rocommunity {COMMUNITY} 198.18.0.0/15\n"
            f"rocommunity6 {COMMUNITY} 2001:db8::/32\n"
            f"createUser {V3_USER} SHA {V3_AUTH} AES {V3_PRIV}\n"
            f"rouser {V3_USER} priv\n"
            # a re-created interface replaces the old row of the same name, as on a router
            "interface_replace_old yes\n" + hooks,
            encoding="utf-8",
        )
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(d))
        cmd = ["snmpd", "-f", "-C", "-c", str(d / "snmpd.conf"), "-Lf", str(d / "log"),
               "-p", str(d / "pid"), "-M", "/nonexistent", "-m", ""]  # fmt: skip
        self.procs[router] = self.topo.popen(ROUTERS[router], cmd, env=env)
        self._wait_listening(router)

    def _wait_listening(self, router: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = self.topo.ns_exec(ROUTERS[router], "ss", "-Hlun", check=False).stdout
            if ":161 " in out:
                return
            if self.procs[router].poll() is not None:
                break
            time.sleep(0.05)
        log = (self.dir(router) / "log").read_text(errors="replace")
        raise AssertionError(f"snmpd in {router} did not start:\n{log}")

    def set_bgp(self, router: str, peer: str, state: int) -> None:
        """Make the agent of ``router`` report ``bgpPeerState.<peer> = state`` (6 = up)."""
        self.set_bgp_raw(router, peer, "integer", str(state))

    def set_bgp_raw(self, router: str, peer: str, kind: str, value: str) -> None:
        """Make the agent answer ``bgpPeerState.<peer>`` with a value of any pass_persist
        ``kind`` (integer, string, ipaddress, objectid...), right or wrong."""
        path = self.dir(router) / "bgp" / peer
        path.write_text(f"{kind}\n{value}\n", encoding="utf-8")

    def clear_bgp(self, router: str, peer: str) -> None:
        (self.dir(router) / "bgp" / peer).unlink(missing_ok=True)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.procs.clear()


def send_trap(topo: Topology, router: str, dest: str, trap_oid: str, *binds: str,
              community: str = COMMUNITY) -> None:  # fmt: skip
    """``snmptrap -v2c`` from the router's namespace to ``dest`` (HOST:PORT); ``binds`` are
    snmptrap's OID TYPE VALUE triples, flattened."""
    require_tool("snmptrap")
    topo.ns_exec(
        ROUTERS[router], "snmptrap", "-v2c", "-c", community, "-m", "", "-M", "/nonexistent",
        dest, "", trap_oid, *binds,
    )  # fmt: skip


def trap_packet(trap_oid: str, *binds: str, community: str = COMMUNITY) -> bytes:
    """The datagram ``snmptrap -v2c`` sends for this trap (caught on loopback), for ``flood``
    to send many times."""
    require_tool("snmptrap")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(5)
        dest = f"127.0.0.1:{sink.getsockname()[1]}"
        subprocess.run(
            ["snmptrap", "-v2c", "-c", community, "-m", "", "-M", "/nonexistent", dest, "",
             trap_oid, *binds],
            check=True,
        )  # fmt: skip
        return sink.recv(65535)


FLOOD = """
import socket, sys, time
packet, host, port = bytes.fromhex(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rate, seconds = float(sys.argv[4]), float(sys.argv[5])
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start, sent = time.monotonic(), 0
while time.monotonic() - start < seconds:
    ahead = start + sent / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
    out.sendto(packet, (host, port))
    sent += 1
print(sent)
"""


def flood(
    topo: Topology, router: str, dest: tuple[str, int], packet: bytes, *, rate: float,
    seconds: float,
) -> subprocess.Popen[str]:  # fmt: skip
    """Send ``packet`` from the router's namespace to ``dest`` ``rate`` times a second for
    ``seconds``; the process prints how many it sent and ends."""
    argv = [sys.executable, "-c", FLOOD, packet.hex(), dest[0], str(dest[1]), str(rate),
            str(seconds)]  # fmt: skip
    return topo.popen(ROUTERS[router], argv, stdout=subprocess.PIPE, text=True)
