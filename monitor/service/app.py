"""The composition root: builds every adapter from the settings and wires them together.

Kept apart from the daemon's logic so that tests can build a Daemon with their own
prober, store, transport and registry, and ``slawatch run`` gets the real ones. The only
place (with the commands) that reads the configuration's models: everything it builds gets
plain values (the plan, relays, SNMP plans).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import __version__
from monitor.config import Settings
from monitor.core.location import is_postgres
from monitor.metrics import Metrics
from monitor.notify.transport import Transport
from monitor.probes.icmp import IcmpEngine
from monitor.service import systemd
from monitor.service.backend import Backend
from monitor.service.daemon import Daemon
from monitor.service.fds import http_connections
from monitor.service.jobs import Jobs
from monitor.service.preflight import customer_tokens, preflight, read_token, snmp_wanted
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.web import IN_FLIGHT, Customer, Limits, make_app, serve
from monitor.web.serve import listen

if TYPE_CHECKING:
    from monitor.service.snmp_watch import SnmpWatch

log = logging.getLogger("slawatch")


class App:
    """Everything ``slawatch run`` starts, in order, and stops in reverse."""

    def __init__(self, settings: Settings) -> None:
        exposed = preflight(settings)  # every secret it reads, as check-config does
        if exposed:
            log.warning("%s", exposed)
        self._settings: Settings | None = settings  # until start(): see start()
        self._fixed = restart_only(settings)
        self._notify = settings.notify.model_dump(mode="json")
        self.metrics = Metrics(version=__version__)
        self.token = read_token(settings.http.token_file)
        self.customers = customers(settings)
        self.engine = IcmpEngine()
        self.store: AsyncStore[Store] | None = None
        self.daemon: Daemon | None = None
        self._runner: object | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.jobs: Jobs | None = None
        self.snmp: SnmpWatch | None = None

    async def start(self) -> None:
        """Start everything. The settings are not kept: the daemon runs on their plan (the
        validated models of 10,000 paths are ~25 MB), and a reload brings new ones."""
        s, self._settings = self._settings, None
        assert s is not None, "App.start() runs once"
        sock = listen(*s.http.host_port)  # first: a taken port fails before anything starts
        try:
            await self._start(s, sock)
        except BaseException:
            sock.close()
            raise

    async def _start(self, s: Settings, sock: socket.socket) -> None:
        await self.engine.start()
        if self.engine.native:
            log.info("icmp: %s sockets, per-echo loops in C", self.engine.mode)
        else:  # ~40 % more CPU at 10,000 paths (bench/RESULTS.md)
            log.warning("icmp: %s sockets, per-echo loops in Python: the C extension was not "
                        "built (install gcc and the Python headers, then reinstall slawatch)",
                        self.engine.mode)  # fmt: skip
        self.store = store = await AsyncStore.open(
            lambda: open_store(
                s.journal,
                password_file=s.journal_password_file,
                node="" if s.cluster is None else s.cluster.node,
                own=True,
            )
        )
        transport = self._transport(s)
        self.daemon = d = Daemon(
            s.plan(), store=store, prober=self.engine, transport=transport, metrics=self.metrics
        )
        await d.start()
        if snmp_wanted(s):
            from monitor.service.snmp_watch import SnmpWatch  # pysnmp only when configured

            self.snmp = SnmpWatch(
                s, sink=d, reprobe=d.scheduler, counters=self.metrics, wall=d.wall
            )
            self.snmp.start()
            self.metrics.traps_refused(self.snmp.refused)
        backend = Backend(
            lambda: d.sup, store=store, ops=d.ops, wall=d.wall, history=d.history, cluster=d.cluster
        )
        # monthly figures beside a journal file; for a database, in the working directory
        reports = Path("reports") if is_postgres(s.journal) else Path(s.journal).parent / "reports"
        self.jobs = Jobs(backend, store=store, credits=self.metrics, wall=d.wall,
                         timezone=s.timezone, reports=reports, stamping=s.evidence)  # fmt: skip
        self.metrics.chain_head(lambda: store.sync.known_head.seq)
        host, port = s.http.host_port
        limits = Limits(  # last: the descriptors left once everything else is open
            max_connections=http_connections(s.http.max_connections, in_flight=IN_FLIGHT),
            request_timeout_s=s.http.request_timeout_s,
        )
        app = make_app(backend, self.metrics, token=lambda: self.token,
                       customers=lambda: self.customers, limits=limits, wall=d.wall)  # fmt: skip
        self._runner = await serve(app, host, port, sock)
        self.jobs.start()
        log.info("http: at most %d connections", limits.max_connections)
        systemd.notify("READY=1")
        interval = systemd.watchdog_interval()
        if interval:
            self._watchdog = asyncio.create_task(self._pet(interval))

    async def _pet(self, interval: float) -> None:
        while True:
            systemd.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    def _transport(self, s: Settings) -> Transport:
        return build_transport(
            s, on_attempt=lambda a: self.metrics.notification_attempt(str(a.outcome))
        )

    def reload(self, new: Settings) -> None:
        """Apply ``new``; ConfigError (nothing changed) when a secret or a file it names
        cannot be read. The API and customers' tokens, and the relays' passwords, are read
        again: a rotated one applies at once (a token's change signs out the sessions opened
        with the old one). Changed relays (or Maildir) take every delivery that begins from
        now; what only a restart applies (the journal, the HTTP listener, the cluster) is
        kept, and said so at WARNING."""
        exposed = preflight(new)  # first: every secret readable, or the old one stays
        if exposed:
            log.warning("%s", exposed)
        transport = self._transport(new)  # relays' password files read again; may refuse
        systemd.notify("RELOADING=1")
        assert self.daemon is not None
        fixed = restart_only(new)
        for name, was in self._fixed.items():
            if fixed[name] != was:
                log.warning("reload: %s changed (%s -> %s): it takes effect at the next "
                            "restart; until then slawatch keeps %s", name, was, fixed[name],
                            was)  # fmt: skip
        notify = new.notify.model_dump(mode="json")
        if notify != self._notify:
            self._notify = notify
            log.info("reload: notices go out through %s from now", way_out(new))
        self.token = read_token(new.http.token_file)
        self.customers = customers(new)
        if self.snmp is not None:
            self.snmp.reload(new)
        elif snmp_wanted(new):
            log.warning("SNMP was added: restart slawatch to start polling")
        self.daemon.reload(new.plan(), transport)
        if self.jobs is not None:
            self.jobs.stamping = new.evidence
        systemd.notify("READY=1")

    async def stop(self) -> None:
        systemd.notify("STOPPING=1")
        if self._watchdog:
            self._watchdog.cancel()
        if self.jobs is not None:
            self.jobs.stop()
        if self._runner is not None:
            await self._runner.cleanup()  # type: ignore[attr-defined]
        if self.snmp is not None:
            await self.snmp.close()
        if self.daemon is not None:
            await self.daemon.stop()
        await self.engine.close()
        if self.store is not None:
            await self.store.close()


def customers(settings: Settings) -> tuple[Customer, ...]:
    """The customers who may sign in to the pages, with their current tokens."""
    tokens = customer_tokens(settings)
    return tuple(
        Customer(id=c.id, name=c.name, circuits=frozenset(c.circuits), token=tokens[c.id])
        for c in settings.customers
    )


def restart_only(s: Settings) -> dict[str, str]:
    """The settings a reload cannot apply (only a restart), as text."""
    return {
        "journal": str(s.journal),
        "journal_password_file": str(s.journal_password_file),
        "http.listen": s.http.listen,
        "http.max_connections": str(s.http.max_connections),
        "http.request_timeout_s": str(s.http.request_timeout_s),
        "cluster": "none" if s.cluster is None else str(s.cluster.model_dump(mode="json")),
    }


def way_out(s: Settings) -> str:
    """Where notices go, for the log: the relays in order, or the Maildir."""
    if not s.notify.smtp:
        return f"the Maildir {s.notify.maildir}"
    return "relays " + ", ".join(f"{r.host}:{r.port}" for r in s.notify.smtp)
