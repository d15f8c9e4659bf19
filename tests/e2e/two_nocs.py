"""Two NOC hosts on one PostgreSQL journal, for real: namespaces, databases, daemons.

The topology of tests/topology.py with a second NOC host, ``nb``, wired like the first::

    root ns ──mgmt── noc (node noc-a) ──┬── ra ──┬── dp        gw (control target)
            ──mgmt── nb  (node noc-b) ──┘   rs ──┴── ds        (a link to each NOC)

    198.18.6.0/30, .4/30   nb <-> ra, rs: nb .1/.5, router .2/.6
    198.18.7.0/30          nb .1 <-> gw .2 (nb's control target)

Both NOC hosts reach the root namespace's end of noc's management link (``hub``), where the
PostgreSQL server and the SMTP sink listen, each over its own management link, so each
host's traffic to them can be cut on its own (nftables in that host's namespace).
``cut_paths("nb")`` cuts one NOC host from every path (its links to both routers), and only
it; ``cut(router, demarc)`` is a real outage, seen by both.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from monitor.core.chain import HEAD_HEADER, parse_head
from tests.e2e.daemon import Daemon, config
from tests.notify.smtp_server import Received, SmtpServer
from tests.store.pg_cluster import ROLE, PgCluster
from tests.support import free_port, skip_or_fail
from tests.topology import MGMT_LOCK, PATH_NETS, ROUTER_NETS, Topology, available, sh

NB_ROUTER_NETS = {"ra": 0, "rs": 4}
"""nb <-> router /30s: 198.18.6.N: nb .N+1, router .N+2."""
NB_GW = "198.18.7"
NODES = {"noc": "noc-a", "nb": "noc-b"}
"""Namespace -> node name."""


class TwoNocs(Topology):
    """A :class:`Topology` with a second NOC host (namespace ``nb``); see the module doc."""

    nb_mgmt_if: str = ""
    nb_root_address: str = ""
    nb_address: str = ""
    """nb's management address (its daemon's HTTP)."""

    @classmethod
    def build_two(cls, prefix: str) -> TwoNocs:
        sh("ip", "netns", "del", f"{prefix}nb", check=False)
        topo = cls.build(prefix)
        assert isinstance(topo, TwoNocs)
        try:
            topo._second_noc()
        except BaseException:
            topo.teardown()
            raise
        return topo

    @property
    def hub(self) -> str:
        """Where the database and the SMTP sink listen (reached from both NOC hosts)."""
        return self.root_mgmt_address

    def host(self, ns: str) -> str:
        """A NOC host's management address (its daemon's HTTP)."""
        return self.noc_mgmt_address if ns == "noc" else self.nb_address

    def gateway(self, ns: str) -> str:
        return self.gateway_address if ns == "noc" else f"{NB_GW}.2"

    def _second_noc(self) -> None:
        sh("ip", "netns", "add", self.ns("nb"))
        self.created.append(self.ns("nb"))
        self.ns_exec("nb", "sysctl", "-qw", "net.ipv4.ip_forward=0")
        self.ns_exec("nb", "ip", "link", "set", "lo", "up")
        for r, n in NB_ROUTER_NETS.items():
            self._link("nb", f"to-{r}", f"198.18.6.{n + 1}", r, "to-nb", f"198.18.6.{n + 2}")
        self._link("nb", "to-gw", f"{NB_GW}.1", "gw", "to-nb", f"{NB_GW}.2")
        self.nb_mgmt_if = f"{self.prefix}n"[:15]
        sh("ip", "link", "add", self.nb_mgmt_if, "type", "veth",
           "peer", "name", "mgmt", "netns", self.ns("nb"))  # fmt: skip
        import fcntl

        from tests.topology import _free_mgmt_net

        with open(MGMT_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            net = _free_mgmt_net()
            root, nb = (str(a) for a in list(net.hosts())[:2])
            sh("ip", "addr", "add", f"{root}/30", "dev", self.nb_mgmt_if)
        self.nb_root_address, self.nb_address = root, nb
        sh("ip", "link", "set", self.nb_mgmt_if, "up")
        self.ns_exec("nb", "ip", "addr", "add", f"{nb}/30", "dev", "mgmt")
        self.ns_exec("nb", "ip", "link", "set", "mgmt", "up")
        self.ns_exec("nb", "ip", "route", "add", f"{self.hub}/32", "via", root)
        for path in PATH_NETS:
            self._routes(*path)

    def _routes(self, r: str, d: str) -> None:
        super()._routes(r, d)
        if self.ns("nb") not in self.created:
            return
        n, rn = PATH_NETS[(r, d)], NB_ROUTER_NETS[r]
        via = f"198.18.6.{rn + 2}"  # unreachable while nb is cut off: restore_paths adds it
        self.ns_exec("nb", "ip", "route", "replace", f"198.18.2.{n}/30", "via", via, check=False)
        self.ns_exec(d, "ip", "route", "replace", f"198.18.6.{rn}/30", "via", f"198.18.2.{n + 1}")

    # -- faults of one NOC host -----------------------------------------------------------------
    def cut_paths(self, ns: str) -> None:
        """Cut NOC host ``ns`` from every path (its links to both routers); the other host and
        the control target are untouched."""
        for r in ROUTER_NETS:
            self.ns_exec(ns, "ip", "link", "set", f"to-{r}", "down")

    def restore_paths(self, ns: str) -> None:
        for r in ROUTER_NETS:
            self.ns_exec(ns, "ip", "link", "set", f"to-{r}", "up")
        for path in PATH_NETS:
            self._routes(*path)

    def cut_journal(self, ns: str, port: int) -> None:
        """Drop every packet NOC host ``ns`` sends to the database (nftables, in its namespace)."""
        self._drop(ns, "swcut", port)

    def restore_journal(self, ns: str) -> None:
        self.ns_exec(ns, "nft", "delete", "table", "inet", "swcut", check=False)

    def cut_relay(self, ns: str, port: int) -> None:
        """Drop every packet NOC host ``ns`` sends to the SMTP sink on ``port``."""
        self._drop(ns, "swrelay", port)

    def restore_relay(self, ns: str) -> None:
        self.ns_exec(ns, "nft", "delete", "table", "inet", "swrelay", check=False)

    def _drop(self, ns: str, table: str, port: int) -> None:
        rules = (
            f"table inet {table} {{\n chain out {{\n  type filter hook output priority 0;\n"
            f"  ip daddr {self.hub} tcp dport {port} drop\n }}\n}}\n"
        )
        self.ns_exec(ns, "nft", "-f", "-", input=rules)

    def teardown(self) -> None:
        if self.nb_mgmt_if:
            sh("ip", "link", "del", self.nb_mgmt_if, check=False)
            self.nb_mgmt_if = ""
        super().teardown()


def open_database(pg: PgCluster, hub: str) -> None:
    """Let the NOC hosts in: listen on ``hub`` too, password logins from 198.18.0.0/15."""
    net = ipaddress.IPv4Network("198.18.0.0/15")
    with (pg.data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nlisten_addresses = '127.0.0.1,{hub}'\n")
    with (pg.data / "pg_hba.conf").open("a") as hba:
        hba.write(f"\nhost all all {net} scram-sha-256\n")
    pg.restart()


@dataclass
class Node:
    """One NOC host's daemon: ``ns`` (noc or nb), its node name and its Daemon."""

    ns: str
    name: str
    daemon: Daemon

    def get(self, path: str) -> Any:
        return self.daemon.get(path)

    @property
    def pid(self) -> int:
        assert self.daemon.proc is not None
        return self.daemon.proc.pid

    def cluster(self) -> dict[str, Any]:
        return self.get("/api/cluster") or {}

    def leads(self) -> bool:
        return self.cluster().get("role") == "leader"

    def signal(self, sig: signal.Signals) -> None:
        import os

        os.kill(self.pid, sig)


def node_config(
    topo: TwoNocs,
    ns: str,
    tmp: Path,
    *,
    url: str,
    password_file: Path,
    smtp_port: int,
    lease_s: float,
    renew_s: float,
) -> dict[str, Any]:
    """The ``extra`` for tests/e2e/daemon.py's config: this node's journal, cluster, HTTP,
    control target and relay."""
    return {
        "journal": url,
        "journal_password_file": str(password_file),
        "cluster": {"node": NODES[ns], "lease_s": lease_s, "renew_s": renew_s},
        "http": {"listen": f"{topo.host(ns)}:{free_port()}", "token_file": None},
        "control_targets": [{"name": "noc-gw", "address": topo.gateway(ns)}],
        "notify": {
            "from": "slawatch@noc.example",
            "noc": ["noc-duty@noc.example"],
            "maildir": str(tmp / "maildir"),
            "smtp": [{"host": topo.hub, "port": smtp_port, "tls": "none", "timeout_s": 2}],
        },
    }


LEASE_S, RENEW_S = 6.0, 1.0
"""The tests' lease: short, so a takeover takes seconds."""
T = TypeVar("T")


def until(cond: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Pair:
    """A fresh journal, an SMTP sink and the two nodes on them (noc-a started first)."""

    def __init__(self, topo: TwoNocs, pg: PgCluster, tmp: Path, relay: SmtpServer) -> None:
        self.topo, self.pg, self.tmp, self.relay = topo, pg, tmp, relay
        self.db = pg.create_database()
        self.url = f"postgresql://{ROLE}@{topo.hub}:{pg.port}/{self.db}"
        self.nodes: dict[str, Node] = {}

    def launch(self, ns: str) -> Node:
        tmp = self.tmp / ns
        tmp.mkdir(exist_ok=True)
        extra = node_config(self.topo, ns, tmp, url=self.url, password_file=self.pg.password_file,
                            smtp_port=self.relay.port, lease_s=LEASE_S,
                            renew_s=RENEW_S)  # fmt: skip
        port = int(extra["http"]["listen"].rsplit(":", 1)[1])
        cfg = config(self.topo, tmp, port=port, extra=extra)
        d = Daemon(self.topo, cfg, port, tmp / "daemon.log", ns=ns, host=self.topo.host(ns))
        d.start()
        node = self.nodes[ns] = Node(ns=ns, name=NODES[ns], daemon=d)
        return node

    def start(self) -> tuple[Node, Node]:
        """Both nodes, noc-a leading, each fresh in the other's eyes, every path up."""
        self.topo.restore_all()
        a = self.launch("noc")
        until(a.leads, 15, "noc-a leading")
        b = self.launch("nb")
        for n in (a, b):
            until(partial(ready, n), 15, f"{n.name}: paths up, both fresh")
        assert not b.leads()
        return a, b

    def sql(self, query: str) -> list[list[str]]:
        out = self.pg.psql(query, database=self.db)
        return [line.split("|") for line in out.splitlines() if line]

    def slawatch(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``slawatch ARGS`` as an operator runs it beside the nodes, with noc-a's configuration
        (the journal's URL and password file)."""
        cfg = self.nodes["noc"].daemon.cfg
        return subprocess.run([sys.executable, "-m", "monitor", *args, "--config", str(cfg)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    def check_journal(self) -> None:
        """The shared journal after the scenario, while the nodes still run: ``slawatch
        verify`` passes on it, and every notice the sink received carries a head that is a
        record of the chain, the one right before the notice's own record (issue 14)."""
        done = self.slawatch("verify")
        assert done.returncode == 0, done.stderr
        for r in self.relay.received:
            head = parse_head(str(r.message()[HEAD_HEADER]))
            assert head is not None, r.message_id
            mid = r.message_id.strip()  # a folded header keeps its leading space
            [[own]] = self.sql(
                "SELECT c.seq FROM chain c JOIN outbox o ON c.kind = 'outbox' "
                f"AND c.ref = o.id::text WHERE o.message_id = '{mid}'"
            )
            [[at_head]] = self.sql(f"SELECT hash FROM chain WHERE seq = {head.seq}")
            assert (int(own), at_head) == (head.seq + 1, head.hash), mid

    def stop(self) -> None:
        for n in self.nodes.values():
            n.daemon.ensure_stopped()
        for ns in ("noc", "nb"):
            self.topo.restore_paths(ns)
            self.topo.restore_journal(ns)
            self.topo.restore_relay(ns)
        self.topo.restore_all()


def all_up(n: Node) -> bool:
    circuits = n.get("/api/circuits") or []
    return bool(circuits) and all(p["state"] == "up" for c in circuits for p in c["paths"])


def all_down(n: Node) -> bool:
    circuits = n.get("/api/circuits") or []
    return bool(circuits) and all(p["state"] == "down" for c in circuits for p in c["paths"])


def ready(n: Node) -> bool:
    """Every path up in ``n``'s eyes, and both nodes fresh."""
    return all_up(n) and both_fresh(n)


def both_fresh(n: Node) -> bool:
    nodes = n.cluster().get("nodes", [])
    return len(nodes) == 2 and all(x["freshness"] == "fresh" for x in nodes)


def kind(r: Received) -> str:
    """The notice kind from the Message-ID: <slawatch.{journal}.{circuit}.{incident}.{kind}...>"""
    return r.message_id.split(".")[4] if r.message_id.count(".") >= 5 else r.message_id


def to(relay: SmtpServer, rcpt: str, notice: str) -> list[Received]:
    return [r for r in relay.received if rcpt in r.rcpt_tos and kind(r) == notice]


@contextlib.contextmanager
def built(prefix: str) -> Iterator[tuple[TwoNocs, PgCluster]]:
    """A module's two NOC hosts (namespaces named from ``prefix``) and its PostgreSQL
    cluster, with the journal's database role; skipped (failed in CI) where namespaces
    cannot be built; torn down at the end."""
    reason = available()
    if reason:
        skip_or_fail(reason)
    topo = TwoNocs.build_two(prefix)
    try:
        pg = PgCluster.start()
        try:
            open_database(pg, topo.hub)
            yield topo, pg
        finally:
            pg.remove()
    finally:
        topo.teardown()


@contextlib.contextmanager
def paired(site: tuple[TwoNocs, PgCluster], tmp: Path) -> Iterator[Pair]:
    """A test's fresh journal database and SMTP sink on ``site``, its nodes stopped and its
    database dropped at the end."""
    topo, pg = site
    with SmtpServer(host=topo.hub) as relay:
        p = Pair(topo, pg, tmp, relay)
        try:
            yield p
        finally:
            p.stop()
            pg.drop_database(p.db)
