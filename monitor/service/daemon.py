"""The daemon: wires probes -> core -> journal -> notices, metrics and the API.

Flow of one probe result: the scheduler hands results to :meth:`Daemon.on_results`, which
feeds the tracker synchronously (the core is fast and never blocks). Events the tracker
returns go onto one queue; the committer task writes each batch to the journal (one fsynced
transaction) and only then acts on it: metrics, the notification ledger, the outbox. So
nothing is acted on that could be lost in a crash, and batching keeps fsyncs few.

On start the journal gives back path states, open incidents and the unmonitored gap since the
daemon last ran; an incident open at the crash stays open with its original start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import Settings
from monitor.core import sla
from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import Group, Ledger, Policy, policy_groups
from monitor.core.errors import InputError
from monitor.core.model import Demarc, Interval, MaintenanceWindow, PathKey, ProbeResult, Router
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    Event,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    PathChanged,
    Tracker,
)
from monitor.service.probing import Prober, ProbeScheduler, Target

log = logging.getLogger("slawatch")

HEARTBEAT_S = 10.0
"""Heartbeat period: an unmonitored gap after a crash is known to within this."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """Key of a control target in the scheduler (so it cannot clash with a PathKey)."""

    name: str


@dataclass(slots=True)
class LiveState:
    """What the status page and API show between journal reads: last RTT and SNMP readings."""

    rtt: dict[Hashable, float | None] = field(default_factory=dict)
    last_probe: datetime | None = None
    snmp: dict[PathKey, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Latest SNMP reading per path and kind: ok, value, text, at (see snmp_watch)."""


class Daemon:
    """Owns the tracker, ledger and scheduler; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        prober: Prober,
        journal: Any,
        metrics: Any,
        notifier: Any,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.metrics = metrics
        self.notifier = notifier
        self.wall = wall
        self.tracker = self._new_tracker(settings)
        self.ledger = Ledger()
        self.extra_windows: dict[str, list[MaintenanceWindow]] = {}
        self.terms: dict[str, CircuitTerms] = settings.terms()
        self.gaps: list[Interval] = []
        self.live = LiveState()
        self.scheduler = ProbeScheduler(
            prober, self.on_results, timeout_s=settings.probe_timeout_s, on_late=metrics.tick_late
        )
        self._queue: asyncio.Queue[Sequence[Event]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.started_at: datetime | None = None
        self.monitored_since: datetime | None = None
        """The journal's first daemon start: before it, nothing is known (not 100 %)."""

    @staticmethod
    def _new_tracker(settings: Settings) -> Tracker:
        return Tracker(
            settings.specs(),
            controls=[t.name for t in settings.control_targets],
            fail_after=settings.fail_after,
            recover_after=settings.recover_after,
        )

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore from the journal, record the start (and gap), start every loop."""
        now = self.wall()
        self.started_at = now
        await self._restore(now)
        for cid in self.tracker.circuit_ids:
            self.metrics.init_circuit(cid)
        self.scheduler.set_targets(self._targets())
        self._tasks = [
            asyncio.create_task(coro, name=name)
            for name, coro in (
                ("probes", self.scheduler.run()),
                ("committer", self._commit_loop()),
                ("ledger", self._ledger_loop()),
                ("heartbeat", self._heartbeat_loop()),
                ("gauges", self._gauge_loop()),
            )
        ]
        self.notifier.start(self)

    async def stop(self) -> None:
        """Stop probing, flush what is queued to the journal, record a clean stop."""
        for task in self._tasks:
            if task.get_name() != "committer":
                task.cancel()
        await self.scheduler.close()
        await self.notifier.close()
        await self._queue.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.journal.daemon_stopped(self.wall())

    async def load(self) -> None:
        """Restore state from the journal without recording a start: a read-only view for the
        CLI while the daemon is not running (nothing is probed or sent)."""
        await self._restore(self.wall(), record_start=False)

    async def _restore(self, now: datetime, *, record_start: bool = True) -> None:
        state = await self.journal.restore()
        for (circuit, router, demarc), (st, since) in state.paths.items():
            key = PathKey(circuit=circuit, router=Router(router), demarc=Demarc(demarc))
            with contextlib.suppress(InputError, KeyError):
                self.tracker.restore_path(key, st, since)
        for name, (st, since) in state.controls.items():
            with contextlib.suppress(InputError, KeyError):
                self.tracker.restore_control(name, st, since)
        for incident in state.incidents:
            if incident.circuit in self.terms:
                self.tracker.restore_incident(incident)
                if incident.end is None:
                    self._track(incident)
        self.tracker.blind_intervals.extend(i for i in state.blind if i.end is not None)
        await self._load_windows()
        gap = await self.journal.daemon_started(now) if record_start else None
        self.gaps = list(await self.journal.gaps(None, None))
        self.monitored_since = await self.journal.first_start()
        if gap is not None:
            log.warning("unmonitored gap %s .. %s (daemon was not running)", gap.start, gap.end)
            self.metrics.unmonitored((gap.end - gap.start).total_seconds())

    async def _load_windows(self) -> None:
        """Maintenance announced through the API/CLI (journal) joins the configured windows."""
        self.extra_windows = {}
        for w in await self.journal.maintenance():
            self.extra_windows.setdefault(w.circuit, []).append(w.window)
        self.terms = self._terms(self.settings)

    def _terms(self, settings: Settings) -> dict[str, CircuitTerms]:
        """Terms from the configuration plus maintenance announced through the API."""
        terms = settings.terms()
        return {
            cid: replace(t, maintenance=(*t.maintenance, *self.extra_windows.get(cid, ())))
            for cid, t in terms.items()
        }

    async def add_maintenance(
        self, circuit: str, window: MaintenanceWindow, source: str = "api"
    ) -> int:
        """Record an announced suspension; counted durations change retroactively."""
        wid: int = await self.journal.add_maintenance(circuit, window, source, self.wall())
        await self._windows_changed()
        return wid

    async def remove_maintenance(self, window_id: int) -> None:
        """Withdraw an announced window (one added through the API or CLI, by its id)."""
        await self.journal.remove_maintenance(window_id, self.wall())
        await self._windows_changed()

    async def _windows_changed(self) -> None:
        await self._load_windows()
        for cid in self.tracker.circuit_ids:  # a window may move an open incident's deadline
            incident = self.tracker.open_incident(cid)
            if incident is not None:
                self._track(incident)

    def _targets(self) -> list[Target]:
        s = self.settings
        targets = [
            Target(
                key=PathKey(circuit=c.id, router=p.router, demarc=p.demarc),
                address=p.address,
                interval_s=s.interval(c),
            )
            for c in s.circuits
            for p in c.paths
            if p.probe == "icmp"
        ]
        targets += [
            Target(key=Control(name=t.name), address=t.address, interval_s=s.probe_interval_s)
            for t in s.control_targets
        ]
        return targets

    # -- probe results -> tracker -> queue ------------------------------------------------
    def on_results(self, results: list[tuple[Hashable, ProbeResult]]) -> None:
        """Feed a batch of results to the core; queue the events for the committer."""
        events: list[Event] = []
        observe, observe_control = self.tracker.observe, self.tracker.observe_control
        self.metrics.probes(r for _, r in results)  # per batch: see Metrics.probes
        for key, r in results:
            self.live.rtt[key] = r.rtt
            try:
                if isinstance(key, PathKey):
                    events.extend(observe(key, r.at, r.ok))
                elif isinstance(key, Control):
                    events.extend(observe_control(key.name, r.at, r.ok))
            except InputError:  # removed by a reload while the probe was in flight
                continue
        if results:
            self.live.last_probe = results[-1][1].at
            self.metrics.last_probe(self.live.last_probe)
        if events:
            self._queue.put_nowait(events)

    def submit(self, events: Sequence[Event]) -> None:
        """Queue events produced outside the probe path (notices accepted, operator actions)."""
        if events:
            self._queue.put_nowait(list(events))

    async def _commit_loop(self) -> None:
        while True:
            batch = list(await self._queue.get())
            taken = 1
            while not self._queue.empty():
                batch.extend(self._queue.get_nowait())
                taken += 1
            try:
                await self._record(batch)
                self._act(batch)
            finally:
                for _ in range(taken):
                    self._queue.task_done()

    async def _record(self, batch: list[Event]) -> None:
        """Write the batch durably; retry (never drop) while the disk refuses."""
        delay = 0.5
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await self.journal.record(batch)
            except Exception as exc:  # journal errors must not kill the daemon
                self.metrics.journal_error()
                log.error("journal write failed, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.metrics.journal_write(asyncio.get_running_loop().time() - started)
            return

    # -- acting on recorded events -----------------------------------------------------------
    def _act(self, batch: list[Event]) -> None:
        for event in batch:
            if isinstance(event, PathChanged):
                self.metrics.path_state(event.path, event.change.state)
                self._circuit_gauge(event.path.circuit)
            elif isinstance(event, IncidentOpened):
                self.metrics.incident_opened(event.incident.circuit)
                log.warning(
                    "incident %d opened on %s (start %s)",
                    event.incident.id,
                    event.incident.circuit,
                    event.incident.start,
                )
                self._track(event.incident)
            elif isinstance(event, IncidentClosed):
                i = event.incident
                assert i.end is not None
                self.metrics.incident_closed(i.circuit, (i.end - i.start).total_seconds())
                log.warning("incident %d on %s closed (end %s)", i.id, i.circuit, i.end)
                self.notifier.enqueue(self.ledger.close(i.id, i.end), i)
            elif isinstance(event, IncidentNotified):
                self.ledger.notified(event.incident.id)
            elif isinstance(event, BlindStarted | BlindEnded):
                self.metrics.set_blind(isinstance(event, BlindStarted))
                self.notifier.blind(event)
        self._wake.set()

    def _circuit_gauge(self, circuit: str) -> None:
        self.metrics.circuit_available(circuit, self.tracker.open_incident(circuit) is None)

    def policy(self, circuit_id: str) -> Policy:
        s = self.settings
        c = s.circuit(circuit_id)
        groups = policy_groups(
            [x.address for x in c.contacts],
            [
                Group(
                    name=e.name,
                    after=timedelta(minutes=e.after_min),
                    recipients=tuple(x.address for x in e.contacts),
                )
                for e in c.escalation
            ],
        )
        every = s.notify.reminder_every_min
        return Policy(
            groups=groups,
            noc=s.notify.noc,
            warn_before=timedelta(minutes=s.notify.warn_before_deadline_min),
            reminder_every=timedelta(minutes=every) if every else None,
        )

    def _track(self, incident: Any) -> None:
        terms = self.terms[incident.circuit]
        deadline = sla.notify_deadline(incident.detected, None, terms.maintenance)
        self.ledger.track(
            incident=incident.id,
            circuit=incident.circuit,
            policy=self.policy(incident.circuit),
            deadline=deadline,
            notified=incident.notified is not None,
        )
        self._wake.set()

    async def _ledger_loop(self) -> None:
        while True:
            now = self.wall()
            actions = self.ledger.due(now)
            if actions:
                self.notifier.enqueue(actions, None)
            nxt = self.ledger.next_wakeup()
            delay = 60.0 if nxt is None else max((nxt - self.wall()).total_seconds(), 0.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(delay, 60.0)):  # not wait_for: see notifying.py
                    await self._wake.wait()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.journal.heartbeat(self.wall())
            except Exception as exc:
                self.metrics.journal_error()
                log.error("journal heartbeat failed: %s", exc)

    async def _gauge_loop(self) -> None:
        """Once a second: open-incident seconds, deadline countdowns, this month's credit."""
        while True:
            now = self.wall()
            for cid in self.tracker.circuit_ids:
                incident = self.tracker.open_incident(cid)
                self.metrics.set_open_incident(
                    cid, 0.0 if incident is None else (now - incident.start).total_seconds()
                )
                self._circuit_gauge(cid)
            pending = {c: d for _, c, d in self.ledger.pending()}
            for cid in self.tracker.circuit_ids:
                d = pending.get(cid)
                self.metrics.set_deadline(cid, None if d is None else (d - now).total_seconds())
            await asyncio.sleep(1.0)

    # -- reload -----------------------------------------------------------------------------
    def reload(self, new: Settings) -> list[str]:
        """Apply a new configuration; unchanged circuits keep their state. Returns changes."""
        old = {c.id: c for c in self.settings.circuits}
        fresh = {c.id: c for c in new.circuits}
        specs = {s.id: s for s in new.specs()}
        changes = []
        for cid in old.keys() - fresh.keys():
            self.tracker.remove_circuit(cid)
            self.metrics.forget_circuit(cid)
            changes.append(f"removed {cid}")
        for cid, c in fresh.items():
            if cid in old and old[cid].paths != c.paths:
                self.tracker.remove_circuit(cid)
                changes.append(f"re-pathed {cid} (its path states start unknown)")
            elif cid in old:
                continue
            else:
                changes.append(f"added {cid}")
                self.metrics.init_circuit(cid)
            self.tracker.add_circuit(specs[cid])
        old_controls = [t.name for t in self.settings.control_targets]
        controls = [t.name for t in new.control_targets]
        if controls != old_controls:
            self.submit(self.tracker.set_controls(controls, self.wall()))
            changes.append(f"control targets now {', '.join(controls) or 'none'}")
        self.settings = new
        self.terms = self._terms(new)
        self.scheduler.set_targets(self._targets())
        return changes
