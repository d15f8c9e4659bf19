"""The daemon: feeds the supervisor and carries out what it decides.

Every input (a batch of probe results, SNMP readings, a relay's answers, an operator's change
already journalled, a reload, the clock) is handed to ``Supervisor.handle`` at once, on the
event loop; the effects come back in order and are carried out in order: a ``Record`` goes to
the journal's writer, and everything after it (a notice's outbox row, its delivery) is queued
behind it, so nothing is acted on that the journal could lose. Metrics and log lines follow
straight away. A timer wakes the supervisor when it asked to be woken.

On start the journal gives back what the supervisor needs to resume (path states, open
incidents, windows, the unmonitored gap since the daemon last ran); an incident open at a crash
stays open with its original start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from datetime import UTC, datetime

from monitor.core.effects import Effect, Level, Log, Metric, Record, Send
from monitor.core.inputs import Control, Input, Probed, Reload, Tick
from monitor.core.model import PathKey, ProbeResult
from monitor.core.plan import Plan
from monitor.core.supervisor import Supervisor
from monitor.metrics import Metrics
from monitor.notify.transport import Transport
from monitor.service import tasks
from monitor.service.notifier import Notifier
from monitor.service.operations import Operations
from monitor.service.probing import Prober, ProbeScheduler, Target
from monitor.service.writer import Writer
from monitor.store.aio import AsyncStore
from monitor.store.base import Store

log = logging.getLogger("slawatch")

HEARTBEAT_S = 10.0
"""Heartbeat period: an unmonitored gap after a crash is known to within this."""

DRAIN_S = 10.0
"""At a stop, how long queued journal writes may take before the daemon gives up on them."""

LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}


def utcnow() -> datetime:
    return datetime.now(UTC)


def targets(plan: Plan) -> list[Target]:
    """What the ICMP scheduler probes: every ICMP path and every control target."""
    out = [
        Target(key=p.key, address=p.address, interval_s=c.interval_s)
        for c in plan.circuits
        for p in c.paths
        if p.probe == "icmp"
    ]
    out += [Target(key=Control(name=t.name), address=t.address, interval_s=t.interval_s)
            for t in plan.controls]  # fmt: skip
    return out


class Daemon:
    """The asyncio shell around one :class:`Supervisor`; see the module docstring."""

    def __init__(
        self,
        plan: Plan,
        *,
        store: AsyncStore[Store],
        prober: Prober,
        transport: Transport,
        metrics: Metrics,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.plan, self.store, self.metrics, self.wall = plan, store, metrics, wall
        self._transport = transport
        self.writer: Writer[Store] = Writer(
            store, on_error=metrics.journal_error, on_write=metrics.journal_write
        )
        self.scheduler = ProbeScheduler(
            prober, self.on_results, timeout_s=plan.timeout_s, on_late=metrics.tick_late
        )
        self.ops = Operations(store, plan=lambda: self.plan, feed=self.feed, wall=wall)
        self._sup: Supervisor | None = None
        self._notifier: Notifier | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.journal_id = ""

    @property
    def sup(self) -> Supervisor:
        assert self._sup is not None, "Daemon.start() first"
        return self._sup

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Record the start (and the gap), resume from the journal, start every loop."""
        now = self.wall()
        gap = await self.store.run(lambda s: s.started(now))
        resume = await self.store.run(lambda s: s.restore())
        self.journal_id = await self.store.run(lambda s: s.journal_id())
        if gap is not None and gap.end is not None:
            log.warning("unmonitored gap %s .. %s (daemon was not running)", gap.start, gap.end)
            self.metrics.unmonitored((gap.end - gap.start).total_seconds())
        self._sup = Supervisor(self.plan, resume)
        self._notifier = Notifier(
            writer=self.writer,
            transport=self._transport,
            plan=self.plan.notify,
            origin=self.journal_id,
            wall=self.wall,
            on_delivered=self.feed,
            head=lambda: self.store.sync.known_head,
        )
        self.metrics.watch(self._countdowns, self.wall)
        self._tasks = [
            asyncio.create_task(coro, name=name)
            for name, coro in (
                ("journal-writer", self.writer.run()),
                ("probes", self.scheduler.run()),
                ("timer", self._timer_loop()),
                ("heartbeat", self._heartbeat_loop()),
            )
        ]
        self._carry_out(self.sup.start(now))
        self.scheduler.set_targets(targets(self.plan))
        self._notifier.start()

    async def stop(self) -> None:
        """Stop probing and sending, write what is queued, record a clean stop."""
        await self.scheduler.close()
        if self._notifier is not None:
            await self._notifier.close()
        try:
            async with asyncio.timeout(DRAIN_S):
                await self.writer.drained()
        except TimeoutError:
            log.error("stopping with journal writes still refused: they are lost")
        await tasks.stop(self._tasks)
        self.writer.cancel_all()
        with contextlib.suppress(Exception):
            now = self.wall()
            await self.store.run(lambda s: s.stopped(now))

    # -- inputs --------------------------------------------------------------------------------
    def feed(self, event: Input) -> None:
        """Hand one input to the supervisor now and carry out what it decides."""
        self._carry_out(self.sup.handle(event, self.wall()))

    def on_results(self, results: list[tuple[Hashable, ProbeResult]]) -> None:
        """A batch of probe results from the scheduler (or the SNMP watch)."""
        probe = self.metrics.probe
        for _, r in results:
            probe(r.ok, r.rtt)
        if results:
            self.metrics.last_probe(results[-1][1].at)
        batch = tuple((k, r) for k, r in results if isinstance(k, PathKey | Control))
        self.feed(Probed(results=batch))

    def reload(self, plan: Plan) -> None:
        """Apply a new configuration (already validated)."""
        self.feed(Reload(plan=plan))
        self.plan = plan
        if self._notifier is not None:
            self._notifier.plan = plan.notify
        self.scheduler.set_targets(targets(plan))

    # -- effects -------------------------------------------------------------------------------
    def _carry_out(self, effects: list[Effect]) -> None:
        notifier = self._notifier
        assert notifier is not None
        for e in effects:
            if isinstance(e, Record):
                facts = e.facts
                self.writer.write(lambda s, facts=facts: s.record(facts))  # type: ignore[misc]
            elif isinstance(e, Send):
                notifier.send(e)
            elif isinstance(e, Metric):
                self.metrics.apply(e)
            elif isinstance(e, Log):
                log.log(LEVELS[e.level], "%s", e.text)
        self._wake.set()

    # -- loops ---------------------------------------------------------------------------------
    async def _timer_loop(self) -> None:
        """Tick when the supervisor asked to be woken (at least once a minute)."""
        while True:
            nxt = self.sup.next_timer()
            delay = 60.0 if nxt is None else (nxt - self.wall()).total_seconds()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(delay, 60.0)):  # not wait_for (3.11)
                        await self._wake.wait()
                continue
            self.feed(Tick())
            again = self.sup.next_timer()
            if again is not None and again <= self.wall():  # never spin on a past timer
                await asyncio.sleep(1.0)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            now = self.wall()
            self.writer.write(lambda s, now=now: s.heartbeat(now))  # type: ignore[misc]

    def _countdowns(self, now: datetime) -> list[tuple[str, float, float | None]]:
        """(circuit, seconds the open incident has lasted, seconds to its notification
        deadline or None), for the metrics at each scrape."""
        sup = self._sup
        if sup is None:
            return []
        pending = {c: d for _, c, d in sup.pending()}
        out = []
        for c in self.plan.circuits:
            incident = sup.tracker.open_incident(c.id) if sup.tracker.tracks(c.id) else None
            age = 0.0 if incident is None else max((now - incident.start).total_seconds(), 0.0)
            d = pending.get(c.id)
            out.append((c.id, age, None if d is None else (d - now).total_seconds()))
        return out
