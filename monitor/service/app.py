"""The composition root: builds every adapter from the settings and wires them together.

Kept apart from the daemon's logic so that tests can build a Daemon with their own
prober, journal, transport and registry, and ``slawatch run`` gets the real ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from monitor import __version__
from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.probes.icmp import IcmpEngine
from monitor.service import systemd
from monitor.service.backend import DaemonBackend
from monitor.service.daemon import Daemon
from monitor.service.fds import http_connections
from monitor.service.jobs import Jobs
from monitor.service.notifying import Notifier
from monitor.service.preflight import preflight, read_token, snmp_wanted
from monitor.service.transports import build_transport
from monitor.store.aio import AsyncJournal
from monitor.web import IN_FLIGHT, Limits, make_app, serve

log = logging.getLogger("slawatch")


class App:
    """Everything ``slawatch run`` starts, in order, and stops in reverse."""

    def __init__(self, settings: Settings) -> None:
        exposed = preflight(settings)  # every secret it reads, as check-config does
        if exposed:
            log.warning("%s", exposed)
        self.settings = settings
        self.metrics = Metrics(version=__version__)
        self.token = read_token(settings.http.token_file)
        self.engine = IcmpEngine()
        self.journal: AsyncJournal | None = None
        self.daemon: Daemon | None = None
        self._runner: object | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.jobs: Jobs | None = None
        self.snmp: Any = None  # SnmpWatch, when SNMP is configured

    async def start(self) -> None:
        s = self.settings
        await self.engine.start()
        self.journal = await AsyncJournal.open(s.journal)
        transport = build_transport(
            s, on_attempt=lambda a: self.metrics.notification_attempt(str(a.outcome))
        )
        notifier = Notifier(journal=self.journal, transport=transport, metrics=self.metrics)
        self.daemon = Daemon(
            s, prober=self.engine, journal=self.journal, metrics=self.metrics, notifier=notifier
        )
        await self.daemon.start()
        if snmp_wanted(s):
            from monitor.service.snmp_watch import SnmpWatch  # pysnmp only when configured

            self.snmp = SnmpWatch(s, self.daemon)
            self.snmp.start()
        backend = DaemonBackend(self.daemon)
        self.jobs = Jobs(backend, self.metrics)
        self.jobs.start()
        host, port = s.http.host_port
        limits = Limits(  # last: the descriptors left once everything else is open
            max_connections=http_connections(s.http.max_connections, in_flight=IN_FLIGHT),
            request_timeout_s=s.http.request_timeout_s,
        )
        app = make_app(backend, self.metrics, token=lambda: self.token, limits=limits)
        self._runner = await serve(app, host, port)
        log.info("http: at most %d connections", limits.max_connections)
        systemd.notify("READY=1")
        interval = systemd.watchdog_interval()
        if interval:
            self._watchdog = asyncio.create_task(self._pet(interval))

    async def _pet(self, interval: float) -> None:
        while True:
            systemd.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    def reload(self, new: Settings) -> None:
        """Apply ``new``; ConfigError (nothing changed) when a secret it names cannot be read.
        The API token is read again: a rotated token applies at once."""
        exposed = preflight(new)  # first: every secret readable, or the old one stays
        if exposed:
            log.warning("%s", exposed)
        systemd.notify("RELOADING=1")
        assert self.daemon is not None
        self.token = read_token(new.http.token_file)
        if self.snmp is not None:
            self.snmp.reload(new)
        changes = self.daemon.reload(new)
        if self.snmp is None and snmp_wanted(new):
            changes.append("SNMP was added: restart slawatch to start polling")
        self.settings = new
        log.info("configuration reloaded: %s", "; ".join(changes) or "no circuit changed")
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
        if self.journal is not None:
            await self.journal.close()
