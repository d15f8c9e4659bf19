"""The composition root: builds every adapter from the settings and wires them together.

Kept apart from the daemon's logic so that tests can build a Daemon with their own
prober, store, transport and registry, and ``slawatch run`` gets the real ones. The only
place (with the commands) that reads the configuration's models: everything it builds gets
plain values (the plan, relays, SNMP plans).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import __version__
from monitor.config import Settings
from monitor.core.errors import ConfigError
from monitor.metrics import Metrics
from monitor.probes.icmp import IcmpEngine
from monitor.service import systemd
from monitor.service.backend import Backend
from monitor.service.daemon import Daemon
from monitor.service.jobs import Jobs
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.web import make_app, serve

if TYPE_CHECKING:
    from monitor.service.snmp_watch import SnmpWatch

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
        self.store: AsyncStore[Store] | None = None
        self.daemon: Daemon | None = None
        self._runner: object | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.jobs: Jobs | None = None
        self.snmp: SnmpWatch | None = None

    async def start(self) -> None:
        s = self.settings
        await self.engine.start()
        self.store = store = await AsyncStore.open(lambda: open_store(s.journal))
        transport = build_transport(
            s, on_attempt=lambda a: self.metrics.notification_attempt(str(a.outcome))
        )
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
        backend = Backend(lambda: d.sup, store=store, ops=d.ops, wall=d.wall)
        reports = Path(s.journal).parent / "reports"
        self.jobs = Jobs(backend, store=store, credits=self.metrics, wall=d.wall,
                         timezone=s.timezone, reports=reports)  # fmt: skip
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
        elif snmp_wanted(new):
            log.warning("SNMP was added: restart slawatch to start polling")
        self.daemon.reload(new.plan())
        self.settings = new
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
