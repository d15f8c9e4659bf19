"""The composition root: builds every adapter from the settings and wires them together.

Kept apart from the daemon's logic so that tests can build a Daemon with their own
prober, journal, transport and registry, and ``slawatch run`` gets the real ones.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.config import Settings
from monitor.core.errors import ConfigError
from monitor.metrics import Metrics
from monitor.probes.icmp import IcmpEngine
from monitor.service import systemd
from monitor.service.backend import DaemonBackend
from monitor.service.daemon import Daemon
from monitor.service.jobs import Jobs
from monitor.service.notifying import Notifier
from monitor.service.transports import build_transport
from monitor.store.aio import AsyncJournal
from monitor.web import make_app, serve

log = logging.getLogger("slawatch")


def read_token(path: Path | None) -> str | None:
    """The API bearer token from ``http.token_file`` (first line), or None."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"http.token_file {path}: cannot read: {exc.strerror}") from None
    if len(token) < 16:
        raise ConfigError(
            f"http.token_file {path}: token shorter than 16 characters; "
            "generate one with `openssl rand -hex 32`"
        )
    return token


def snmp_wanted(settings: Settings) -> bool:
    """SNMP runs when a circuit names a router or the trap receiver is configured."""
    return settings.snmp_traps is not None or any(c.routers for c in settings.circuits)


class App:
    """Everything ``slawatch run`` starts, in order, and stops in reverse."""

    def __init__(self, settings: Settings) -> None:
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
        self._runner = await serve(make_app(backend, self.metrics, token=self.token), host, port)
        systemd.notify("READY=1")
        interval = systemd.watchdog_interval()
        if interval:
            self._watchdog = asyncio.create_task(self._pet(interval))

    async def _pet(self, interval: float) -> None:
        while True:
            systemd.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    def reload(self, new: Settings) -> None:
        systemd.notify("RELOADING=1")
        assert self.daemon is not None
        if self.snmp is not None:  # first: it re-reads secrets and may refuse the new config
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
