"""Real network topologies for tests, built with ``ip netns`` and veth pairs.

    root ns ── mgmt ── noc ──┬── ra (active router) ──┬── dp (primary demarc)
                             │                        └── ds (secondary demarc)
                             ├── rs (standby router) ─┬── dp
                             │                        └── ds
                             └── gw (the NOC's gateway: a control target)

Usage (as root; the ``topology`` fixture in tests/conftest.py does this per test module)::

    topo = Topology.build(f"sw{os.getpid()}")      # namespaces {prefix}noc, ...ra, ...
    try:
        addr = topo.path_address("active", "primary")  # the target of that path
        topo.ns_exec("noc", sys.executable, "-m", "monitor", "ping", addr)
        topo.cut("active", "primary")                  # that path, and only it, dies
        topo.restore("active", "primary")
    finally:
        topo.teardown()

The probes run in the NOC namespace: start them as a subprocess with ``ns_exec``/``popen``
(``ip netns exec``), never by entering a namespace in the test process.

Addresses (all in 198.18.0.0/15, all on links between our own namespaces):

    198.18.1.0/30, .4/30   NOC <-> ra, rs: NOC .1/.5, router .2/.6 (``router_address``)
    198.18.2.N/30          router <-> demarc, one per path: router .N+1, demarc .N+2, the
                           demarc's end is the path's target (``path_address``)
    198.18.3.0/30          NOC .1 <-> gw .2 (``gateway_address``, a control target)
    198.18.64.0/18         root ns <-> NOC, one free /30 per topology (``root_mgmt_address``,
                           ``noc_mgmt_address``: reach the daemon's HTTP port), so two test
                           runs can hold a topology each at once
    198.18.5.0/24          routed by the NOC to gw, which drops it: never answered
                           (``unanswered_address``)
    198.19.0.0/16          extra targets, answered by gw (``add_targets``)

Each path's target is reached through its own router and the reply comes back the same way
(the demarc routes the NOC's per-router link back through that router), so a path is really
a path: cutting the link ra <-> dp (``cut("active", "primary")``) kills exactly that path.
``ip link set down`` deletes the static routes through a link and ``up`` does not put them
back, so ``restore`` re-adds them. ``teardown`` deletes every namespace, which deletes their
links, the root-namespace end of ``mgmt`` included.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ROUTERS = {"active": "ra", "standby": "rs"}
DEMARCS = {"primary": "dp", "secondary": "ds"}
SHORT_NAMES = ("noc", "ra", "rs", "dp", "ds", "gw")
# (router ns, demarc ns) -> /30 base 198.18.2.N: router .N+1, demarc .N+2
PATH_NETS = {("ra", "dp"): 0, ("ra", "ds"): 4, ("rs", "dp"): 8, ("rs", "ds"): 12}
# NOC <-> router /30s: 198.18.1.N: noc .N+1, router .N+2
ROUTER_NETS = {"ra": 0, "rs": 4}
GW_NET = "198.18.3"  # noc .1, gw .2
MGMT_NET = ipaddress.IPv4Network("198.18.64.0/18")  # one /30 per topology: root .1, noc .2
MGMT_LOCK = "/run/slawatch-test-mgmt.lock"
DEAD_NET = "198.18.5.0/24"
# Namespaces linked to the NOC directly, with their address on that link (for add_targets).
TARGET_BASE = ipaddress.IPv4Address("198.19.0.0")
NOC_NEIGHBOURS = {"ra": "198.18.1.2", "rs": "198.18.1.6", "gw": f"{GW_NET}.2"}


def _free_mgmt_net() -> ipaddress.IPv4Network:
    """A /30 of MGMT_NET with no address of the root namespace in it."""
    used = {
        ipaddress.IPv4Network(f"{word.split('/')[0]}/30", strict=False)
        for line in sh("ip", "-4", "-o", "addr", "show").stdout.splitlines()
        for word in line.split()
        if "/" in word and word[0].isdigit()
    }
    for net in MGMT_NET.subnets(new_prefix=30):
        if net not in used:
            return net
    raise RuntimeError(f"no free /30 left in {MGMT_NET} (stale test links? ip link show)")


def sh(*cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output as text; CalledProcessError if it fails."""
    return subprocess.run(cmd, check=check, capture_output=True, text=True, input=input)


def available() -> str | None:
    """None when topologies can be built here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    probe = sh("ip", "netns", "list", check=False)
    return None if probe.returncode == 0 else f"ip netns unavailable: {probe.stderr.strip()}"


def cleanup_stale(prefix: str) -> None:
    """Delete the namespaces an earlier run with exactly this prefix left behind (and so
    their links). Namespaces of other prefixes are left alone, even longer ones."""
    existing = {ln.split()[0] for ln in sh("ip", "netns", "list", check=False).stdout.splitlines()}
    for short in SHORT_NAMES:
        if f"{prefix}{short}" in existing:
            sh("ip", "netns", "del", f"{prefix}{short}", check=False)


@dataclass
class Topology:
    """The namespaces of one test session; names are ``{prefix}{short}`` with ``short`` one
    of noc, ra, rs, dp, ds, gw. Routers and demarcs are named as in the config: ``router``
    is "active" or "standby", ``demarc`` "primary" or "secondary"."""

    prefix: str
    created: list[str] = field(default_factory=list)
    mgmt_if: str = ""
    targets_added: int = 0
    root_mgmt_address: str = ""
    """The root namespace's end of the management link (where tests run servers the daemon
    reaches, e.g. an SMTP sink); empty without ``mgmt``."""
    noc_mgmt_address: str = ""
    """The NOC's address as the root namespace reaches it (bind the daemon's HTTP here)."""

    gateway_address = f"{GW_NET}.2"
    """The NOC's gateway (namespace gw): a control target that does not depend on a path."""
    unanswered_address = "198.18.5.1"
    """Routed from the NOC to gw, which silently drops it: every probe to it times out."""

    # -- names and addresses ---------------------------------------------------------------
    def ns(self, short: str) -> str:
        """The full name of namespace ``short`` (e.g. "noc" -> "sw123noc")."""
        return f"{self.prefix}{short}"

    @staticmethod
    def path_address(router: str, demarc: str) -> str:
        """The target address of path ROUTER/DEMARC (e.g. "active", "primary")."""
        base = PATH_NETS[(ROUTERS[router], DEMARCS[demarc])]
        return f"198.18.2.{base + 2}"

    @staticmethod
    def router_address(router: str) -> str:
        """The router's address as the NOC sees it (for SNMP polls and as a trap source)."""
        return f"198.18.1.{ROUTER_NETS[ROUTERS[router]] + 2}"

    @staticmethod
    def paths() -> list[tuple[str, str]]:
        """Every (router, demarc) pair, e.g. ("active", "primary")."""
        return [(r, d) for r in ROUTERS for d in DEMARCS]

    # -- running things inside -----------------------------------------------------------------
    def command(self, short: str, *cmd: str) -> list[str]:
        """The argv that runs ``cmd`` inside namespace ``short``."""
        return ["ip", "netns", "exec", self.ns(short), *cmd]

    def ns_exec(
        self, short: str, *cmd: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside namespace ``short`` to completion; output captured as text."""
        return sh(*self.command(short, *cmd), check=check, input=input)

    def popen(self, short: str, cmd: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` inside namespace ``short`` (``kw`` as for ``subprocess.Popen``); the
        caller stops it. ``ip netns exec`` execs in place, so the pid is the command's."""
        return subprocess.Popen(self.command(short, *cmd), **kw)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, prefix: str, *, mgmt: bool = True) -> Topology:
        """Build the whole topology (a fraction of a second); on failure nothing is left
        behind. ``mgmt=False`` skips the link into the root namespace (each topology that has
        one takes a /30 of 198.18.64.0/18 that no other holds)."""
        cleanup_stale(prefix)
        topo = cls(prefix=prefix)
        try:
            topo._build(mgmt)
        except BaseException:
            topo.teardown()
            raise
        return topo

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    def _build(self, mgmt: bool) -> None:
        for short in SHORT_NAMES:
            sh("ip", "netns", "add", self.ns(short))
            self.created.append(self.ns(short))
            # Namespaces inherit IPv4 settings from the host's: pin forwarding explicitly.
            forward = int(short in ROUTER_NETS)
            self.ns_exec(short, "sysctl", "-qw", f"net.ipv4.ip_forward={forward}")
            self.ns_exec(short, "ip", "link", "set", "lo", "up")
        for r, n in ROUTER_NETS.items():
            self._link("noc", f"to-{r}", f"198.18.1.{n + 1}", r, "to-noc", f"198.18.1.{n + 2}")
        for (r, d), n in PATH_NETS.items():
            self._link(r, f"to-{d}", f"198.18.2.{n + 1}", d, f"to-{r}", f"198.18.2.{n + 2}")
        self._link("noc", "to-gw", f"{GW_NET}.1", "gw", "to-noc", f"{GW_NET}.2")
        self.ns_exec("noc", "ip", "route", "add", DEAD_NET, "via", self.gateway_address)
        self.ns_exec("gw", "ip", "route", "add", "blackhole", DEAD_NET)
        if mgmt:
            self._mgmt()
        for path in PATH_NETS:
            self._routes(*path)

    def _link(self, a: str, a_if: str, a_addr: str, b: str, b_if: str, b_addr: str) -> None:
        """A veth pair between namespaces a and b, a /30 on it, both ends up."""
        sh("ip", "link", "add", a_if, "netns", self.ns(a), "type", "veth",
           "peer", "name", b_if, "netns", self.ns(b))  # fmt: skip
        for n, i, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            self.ns_exec(n, "ip", "addr", "add", f"{addr}/30", "dev", i)
            self.ns_exec(n, "ip", "link", "set", i, "up")

    def _mgmt(self) -> None:
        self.mgmt_if = f"{self.prefix}m"[:15]
        sh("ip", "link", "add", self.mgmt_if, "type", "veth",
           "peer", "name", "mgmt", "netns", self.ns("noc"))  # fmt: skip
        with open(MGMT_LOCK, "w") as lock:  # two runs must not pick the same /30
            fcntl.flock(lock, fcntl.LOCK_EX)
            net = _free_mgmt_net()
            root, noc = (str(a) for a in list(net.hosts())[:2])
            sh("ip", "addr", "add", f"{root}/30", "dev", self.mgmt_if)
        self.root_mgmt_address, self.noc_mgmt_address = root, noc
        sh("ip", "link", "set", self.mgmt_if, "up")
        self.ns_exec("noc", "ip", "addr", "add", f"{noc}/30", "dev", "mgmt")
        self.ns_exec("noc", "ip", "link", "set", "mgmt", "up")

    def _routes(self, r: str, d: str) -> None:
        """NOC -> path target via router r; demarc d -> NOC's r-link address via r."""
        n, rn = PATH_NETS[(r, d)], ROUTER_NETS[r]
        self.ns_exec("noc", "ip", "route", "replace", f"198.18.2.{n}/30",
                     "via", f"198.18.1.{rn + 2}")  # fmt: skip
        self.ns_exec(d, "ip", "route", "replace", f"198.18.1.{rn}/30", "via", f"198.18.2.{n + 1}")

    # -- faults --------------------------------------------------------------------------------
    def cut(self, router: str, demarc: str) -> None:
        """Take down the router's end of its link to the demarc: path ROUTER/DEMARC dies
        (the router answers probes to it with ICMP network unreachable)."""
        self.ns_exec(ROUTERS[router], "ip", "link", "set", f"to-{DEMARCS[demarc]}", "down")

    def restore(self, router: str, demarc: str) -> None:
        """Bring the link back up and re-add the routes ``ip link set down`` deleted."""
        r, d = ROUTERS[router], DEMARCS[demarc]
        self.ns_exec(r, "ip", "link", "set", f"to-{d}", "up")
        self._routes(r, d)

    def renumber(self, router: str, demarc: str) -> None:
        """Delete and re-create the router <-> demarc link (a line card swap): same names and
        addresses, new ifIndex on both ends. The path works again afterwards."""
        r, d = ROUTERS[router], DEMARCS[demarc]
        n = PATH_NETS[(r, d)]
        self.ns_exec(r, "ip", "link", "del", f"to-{d}")
        self._link(r, f"to-{d}", f"198.18.2.{n + 1}", d, f"to-{r}", f"198.18.2.{n + 2}")
        self._routes(r, d)

    def cut_all(self) -> None:
        """Cut all four paths: the circuit is down."""
        for router, demarc in self.paths():
            self.cut(router, demarc)

    def restore_all(self) -> None:
        """Restore all four paths (harmless on paths that are up)."""
        for router, demarc in self.paths():
            self.restore(router, demarc)

    def cut_gateway(self) -> None:
        """Isolate the NOC's gateway: the control target goes down (monitor blindness)."""
        self.ns_exec("gw", "ip", "link", "set", "to-noc", "down")

    def restore_gateway(self) -> None:
        self.ns_exec("gw", "ip", "link", "set", "to-noc", "up")

    # -- many targets --------------------------------------------------------------------------
    def add_targets(self, count: int, *, behind: str = "gw") -> list[str]:
        """``count`` more answering addresses from 198.19.0.0/16 (65,000 in all) in namespace
        ``behind`` (gw, ra or rs), routed from the NOC through that namespace's link, so the
        NOC needs one neighbour entry for all of them (its table holds ~1,024 by default).
        Calls never hand out an address twice.

        The namespace answers them through ``local`` routes on its loopback ("AnyIP"), one
        route per covering prefix instead of an address each (and no dummy driver needed).
        """
        if behind not in NOC_NEIGHBOURS or not 0 < count <= 65_000 - self.targets_added:
            raise ValueError(f"add_targets: behind one of {sorted(NOC_NEIGHBOURS)}, <= 65,000")
        numbers = range(self.targets_added, self.targets_added + count)
        self.targets_added += count
        # 254 per /24: no .0 and no .255, which some tools refuse as broadcast-like
        addrs = [str(TARGET_BASE + i // 254 * 256 + i % 254 + 1) for i in numbers]
        first, last = ipaddress.IPv4Address(addrs[0]), ipaddress.IPv4Address(addrs[-1])
        for net in ipaddress.summarize_address_range(first, last):
            self.ns_exec(behind, "ip", "route", "add", "local", str(net), "dev", "lo")
            self.ns_exec("noc", "ip", "route", "replace", str(net), "via", NOC_NEIGHBOURS[behind])
        return addrs

    def teardown(self) -> None:
        """Delete every namespace and link of this topology; safe to call twice."""
        if self.mgmt_if:
            sh("ip", "link", "del", self.mgmt_if, check=False)
            self.mgmt_if = ""
        for name in reversed(self.created):
            sh("ip", "netns", "del", name, check=False)
        self.created.clear()
