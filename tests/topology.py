"""Real network topologies for tests, built with ``ip netns`` and veth pairs.

    root ns ── mgmt ── noc ──┬── ra (active router) ──┬── dp (primary demarc)
                             │                        └── ds (secondary demarc)
                             ├── rs (standby router) ─┬── dp
                             │                        └── ds
                             └── gw (the NOC's gateway: a control target)

Every address is in 198.18.0.0/15 and lives on links between our own namespaces (plus one
/30 between the root namespace and the NOC, so the test can reach the daemon's HTTP port
and Prometheus can scrape it). Each router x demarc path has its own target address, the
demarc's end of that router's link, so cutting one link kills exactly one path. Replies go
back the way they came (per-link source addresses on the NOC), so a path is really a path.

``ip link set down`` deletes static routes that ``up`` does not restore: ``restore`` puts
them back. Teardown deletes every namespace (which deletes their links).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

ROUTERS = {"active": "ra", "standby": "rs"}
DEMARCS = {"primary": "dp", "secondary": "ds"}
# (router ns, demarc ns) -> /30 base 198.18.2.N: router .N+1, demarc .N+2
PATH_NETS = {("ra", "dp"): 0, ("ra", "ds"): 4, ("rs", "dp"): 8, ("rs", "ds"): 12}
# NOC <-> router /30s: 198.18.1.N: noc .N+1, router .N+2
ROUTER_NETS = {"ra": 0, "rs": 4}
GW_NET = "198.18.3"  # noc .1, gw .2
MGMT = ("198.18.4.1", "198.18.4.2")  # root ns, noc


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def available() -> str | None:
    """None when topologies can be built here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    probe = sh("ip", "netns", "list", check=False)
    return None if probe.returncode == 0 else f"ip netns unavailable: {probe.stderr.strip()}"


def cleanup_stale(prefix: str) -> None:
    """Delete namespaces left by an earlier run with this prefix."""
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(prefix):
            sh("ip", "netns", "del", name, check=False)


@dataclass
class Topology:
    prefix: str
    created: list[str] = field(default_factory=list)
    mgmt_if: str = ""

    # -- names and addresses --------------------------------------------------------------
    def ns(self, short: str) -> str:
        return f"{self.prefix}{short}"

    @staticmethod
    def path_address(router: str, demarc: str) -> str:
        """The target address of path ROUTER/DEMARC (e.g. active/primary)."""
        base = PATH_NETS[(ROUTERS[router], DEMARCS[demarc])]
        return f"198.18.2.{base + 2}"

    @staticmethod
    def router_address(router: str) -> str:
        """The router's address as the NOC sees it (for SNMP)."""
        return f"198.18.1.{ROUTER_NETS[ROUTERS[router]] + 2}"

    gateway_address = f"{GW_NET}.2"
    noc_mgmt_address = MGMT[1]

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, prefix: str) -> Topology:
        cleanup_stale(prefix)
        topo = cls(prefix=prefix)
        try:
            topo._build()
        except BaseException:
            topo.teardown()
            raise
        return topo

    def ns_exec(
        self, short: str, *cmd: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(short), *cmd, check=check)

    def _link(self, a: str, a_if: str, a_addr: str, b: str, b_if: str, b_addr: str) -> None:
        sh(
            "ip",
            "link",
            "add",
            a_if,
            "netns",
            self.ns(a),
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            self.ns(b),
        )
        for n, i, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            self.ns_exec(n, "ip", "addr", "add", f"{addr}/30", "dev", i)
            self.ns_exec(n, "ip", "link", "set", i, "up")

    def _build(self) -> None:
        for short in ("noc", "ra", "rs", "dp", "ds", "gw"):
            sh("ip", "netns", "add", self.ns(short))
            self.created.append(self.ns(short))
            self.ns_exec(short, "ip", "link", "set", "lo", "up")
        for r in ("ra", "rs"):
            self.ns_exec(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            n = ROUTER_NETS[r]
            self._link("noc", f"to-{r}", f"198.18.1.{n + 1}", r, "to-noc", f"198.18.1.{n + 2}")
        for (r, d), n in PATH_NETS.items():
            self._link(r, f"to-{d}", f"198.18.2.{n + 1}", d, f"to-{r}", f"198.18.2.{n + 2}")
        self._link("noc", "to-gw", f"{GW_NET}.1", "gw", "to-noc", f"{GW_NET}.2")
        self._mgmt()
        for path in PATH_NETS:
            self._routes(*path)

    def _mgmt(self) -> None:
        self.mgmt_if = f"{self.prefix}m"[:15]
        sh(
            "ip",
            "link",
            "add",
            self.mgmt_if,
            "type",
            "veth",
            "peer",
            "name",
            "mgmt",
            "netns",
            self.ns("noc"),
        )
        sh("ip", "addr", "add", f"{MGMT[0]}/30", "dev", self.mgmt_if)
        sh("ip", "link", "set", self.mgmt_if, "up")
        self.ns_exec("noc", "ip", "addr", "add", f"{MGMT[1]}/30", "dev", "mgmt")
        self.ns_exec("noc", "ip", "link", "set", "mgmt", "up")

    def _routes(self, r: str, d: str) -> None:
        """NOC -> path target via router r; demarc d -> NOC's r-link address via r."""
        n, rn = PATH_NETS[(r, d)], ROUTER_NETS[r]
        self.ns_exec(
            "noc", "ip", "route", "replace", f"198.18.2.{n}/30", "via", f"198.18.1.{rn + 2}"
        )
        self.ns_exec(d, "ip", "route", "replace", f"198.18.1.{rn}/30", "via", f"198.18.2.{n + 1}")

    # -- faults -------------------------------------------------------------------------------
    def cut(self, router: str, demarc: str) -> None:
        """Take down the router's link to the demarc: path ROUTER/DEMARC dies."""
        r, d = ROUTERS[router], DEMARCS[demarc]
        self.ns_exec(r, "ip", "link", "set", f"to-{d}", "down")

    def restore(self, router: str, demarc: str) -> None:
        r, d = ROUTERS[router], DEMARCS[demarc]
        self.ns_exec(r, "ip", "link", "set", f"to-{d}", "up")
        self._routes(r, d)

    def cut_all(self) -> None:
        for router in ROUTERS:
            for demarc in DEMARCS:
                self.cut(router, demarc)

    def restore_all(self) -> None:
        for router in ROUTERS:
            for demarc in DEMARCS:
                self.restore(router, demarc)

    def cut_gateway(self) -> None:
        self.ns_exec("gw", "ip", "link", "set", "to-noc", "down")

    def restore_gateway(self) -> None:
        self.ns_exec("gw", "ip", "link", "set", "to-noc", "up")

    def add_targets(self, short: str, count: int, *, base: str = "198.19") -> list[str]:
        """``count`` extra addresses on a dummy interface in namespace ``short``, routed from
        the NOC through its link (one neighbour entry on the NOC, whatever the count)."""
        self.ns_exec(short, "ip", "link", "add", "targets", "type", "dummy")
        self.ns_exec(short, "ip", "link", "set", "targets", "up")
        addrs = [f"{base}.{i // 250}.{i % 250 + 1}" for i in range(count)]
        batch = "\n".join(f"address add {a}/32 dev targets" for a in addrs)
        subprocess.run(
            ["ip", "netns", "exec", self.ns(short), "ip", "-batch", "-"],
            input=batch,
            text=True,
            check=True,
            capture_output=True,
        )
        return addrs

    def popen(self, short: str, cmd: Sequence[str], **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.ns(short), *cmd], **kw)  # type: ignore[call-overload]

    def teardown(self) -> None:
        if self.mgmt_if:
            sh("ip", "link", "del", self.mgmt_if, check=False)
        for name in reversed(self.created):
            sh("ip", "netns", "del", name, check=False)
        self.created.clear()
