"""The daemon: feeds the supervisor and carries out what it decides.

Every input (a batch of probe results, SNMP readings, a relay's answers, an operator's change
already journalled, a reload, the clock) is handed to ``Supervisor.handle`` at once, on the
event loop (a big batch of probe results in slices, in order: ``FEED_SLICE``); the effects
come back in order and are carried out in order: a ``Record`` goes to
the journal's writer, and everything after it (a notice's outbox row, its delivery) is queued
behind it, so nothing is acted on that the journal could lose. Metrics and log lines follow
straight away. A timer wakes the supervisor when it asked to be woken.

On start the journal gives back what the supervisor needs to resume (path states, open
incidents, windows, the unmonitored gap since the daemon last ran); an incident open at a crash
stays open with its original start. While it runs, a watchdog (stall.py) reports each stall of
the event loop, time it did not look, to the supervisor, which records it as a gap too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import cast

from monitor.clock import Wall, utcnow
from monitor.core.effects import Effect, Level, Log, Metric, Record, Send
from monitor.core.errors import JournalError
from monitor.core.inputs import Control, Input, Probed, Reload, Stalled, Target, Tick
from monitor.core.plan import Plan
from monitor.core.supervisor import Supervisor
from monitor.metrics import Metrics
from monitor.notify.transport import Transport
from monitor.service import systemd, tasks
from monitor.service.cluster import Cluster, peers
from monitor.service.notifier import Notifier
from monitor.service.operations import Operations
from monitor.service.probing import Outcomes, Prober, ProbeScheduler
from monitor.service.probing import Target as Probe
from monitor.service.rtt_history import RttHistory
from monitor.service.stall import BEAT_S, StallWatch
from monitor.service.writer import Writer
from monitor.store.aio import AsyncStore
from monitor.store.base import Store

log = logging.getLogger("slawatch")

HEARTBEAT_S = 10.0
"""Heartbeat period: an unmonitored gap after a crash is known to within this."""

DRAIN_S = 10.0
"""At a stop, queued journal writes are waited for as long as they get through; the daemon
gives up on them only once none has been written for this long (a journal refusing them)."""

FEED_SLICE = 128
"""Probe results handed to the supervisor at once, at most: a bigger batch goes in slices, the
event loop turning between them (after a slice that decided something, or ``FEED_TURN_S``
of slices that decided nothing). A region recovering at once closes an incident for nearly every
result of a batch (each circuit's first path to answer twice), ~1.4 ms each with its notice,
evidence capture, record, metrics and log line: 344 closes in one batch held the loop for
0.5 s of CPU in the mass-outage bench (1,000 circuits); ten times as many would be a stall,
recorded as an unmonitored gap, with every probe and delivery behind it."""

FEED_TURN_S = 0.005
"""Slices that decide nothing (nearly all: paths up answering again, ~0.3 ms a slice at
10,000 paths) are fed one after another in one turn of the event loop, for up to this long; a
slice that decides something ends the turn (after its effects are carried out), so a turn is
at most this plus one slice. A turn per slice cost ~0.5 us a result more at 10,000 paths (the
loop's own round, bench/shell_bench.py)."""

LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}


def _more_time() -> Callable[[], None]:
    """At a stop, while journal writes get through: ask systemd for more time than its
    ``TimeoutStopSec`` (twice :data:`DRAIN_S` from now), so the service manager does not kill
    a stop that is still writing what it owes (a no-op outside systemd). At most once per
    :data:`DRAIN_S` / 4 of the monotonic clock: a drain moves thousands of times a second."""
    last = -math.inf

    def extend() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= DRAIN_S / 4:
            last = now
            systemd.notify(f"EXTEND_TIMEOUT_USEC={int(2 * DRAIN_S * 1_000_000)}")

    return extend


def targets(plan: Plan) -> list[Probe]:
    """What the ICMP scheduler probes: every ICMP path and every control target."""
    out = [
        Probe(key=p.key, address=p.address, interval_s=c.interval_s)
        for c in plan.circuits
        for p in c.paths
        if p.probe == "icmp"
    ]
    out += [Probe(key=Control(name=t.name), address=t.address, interval_s=t.interval_s)
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
        wall: Wall = utcnow,
        watch_clock: bool = True,
    ) -> None:
        """``watch_clock``: report steps of ``wall`` against the monotonic clock (stall.py);
        off for a scripted clock whose jumps stand for time passing."""
        self.plan, self.store, self.metrics, self.wall = plan, store, metrics, wall
        self._watch_clock = watch_clock
        self._transport = transport
        self.writer: Writer[Store] = Writer(
            store, on_error=metrics.journal_error, on_write=metrics.journal_write
        )
        self.scheduler = ProbeScheduler(
            prober, self.on_outcomes, timeout_s=plan.timeout_s, on_late=metrics.tick_late
        )
        self.ops = Operations(store, plan=lambda: self.plan, feed=self.feed, wall=wall)
        self.history = RttHistory()  # the web pages' sparklines; memory only
        self._sup: Supervisor | None = None
        self._notifier: Notifier | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self.failed = asyncio.Event()
        """Set when one of the daemon's own tasks ended by itself (an error): the daemon can
        no longer do its job (a dead timer sends no notice), so ``slawatch run`` stops and
        exits non-zero for the service manager to restart it; the restart is an unmonitored
        gap, and the journal resumes the rest."""
        self._stalls: StallWatch | None = None
        self._slices: deque[Probed] = deque()
        """Slices of big probe batches not fed yet, in order (``on_probed``)."""
        self._slicing: asyncio.Handle | None = None
        self.journal_id = ""
        self.cluster: Cluster | None = None
        if plan.cluster is not None:
            self.cluster = Cluster(
                plan.cluster,
                store,
                fresh=self._results_fresh,
                feed=self.feed,
                on_lead=self._lead,
                on_follow=self._follow,
                waiting=self._waiting,
            )

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
        node = None if self.plan.cluster is None else self.plan.cluster.node
        if self.cluster is not None:
            await self.cluster.claim_name()
        self._sup = Supervisor(self.plan, resume, node=node, leading=self.cluster is None)
        self._notifier = Notifier(
            writer=self.writer,
            transport=self._transport,
            plan=self.plan.notify,
            origin=self.journal_id,
            wall=self.wall,
            on_delivered=self.feed,
            gate=self.cluster,
            head=lambda: self.store.sync.known_head,
        )
        self.metrics.watch(self._countdowns, self.wall)
        loop = asyncio.get_running_loop()
        self._stalls = StallWatch(
            self.plan.stall_s, mono=loop.time(), wall=self.wall(), steps=self._watch_clock
        )
        self._tasks = [
            asyncio.create_task(coro, name=name)
            for name, coro in (
                ("journal-writer", self.writer.run()),
                ("probes", self.scheduler.run()),
                ("timer", self._timer_loop()),
                ("heartbeat", self._heartbeat_loop()),
                ("watchdog", self._watchdog_loop(self._stalls)),
                *((("cluster", self.cluster.run()),) if self.cluster is not None else ()),
            )
        ]
        for task in self._tasks:
            task.add_done_callback(self._ended)
        self._carry_out(self.sup.start(now))
        self.scheduler.set_targets(targets(self.plan))
        self._notifier.start()

    async def stop(self) -> None:
        """Stop probing and sending, write what is queued, record a clean stop."""
        self._stopping = True
        await self.scheduler.close()
        while self._slices:  # the results already in: their facts are journalled below
            self.feed(self._slices.popleft())
        if self._notifier is not None:
            await self._notifier.close()
        await self.writer.drain(stalled_s=DRAIN_S, moved=_more_time())
        await tasks.stop(self._tasks)
        refused = self.writer.failing_since is not None
        lost = self.writer.cancel_all()
        if lost:
            why = "refused by the journal" if refused else f"none written for {DRAIN_S:g} s"
            log.error("stopping with %d journal write(s) %s: they are lost", lost, why)
        with contextlib.suppress(Exception):
            now = self.wall()
            await self.store.run(lambda s: s.stopped(now))
        if self.cluster is not None:  # the standby need not wait for the lease to lapse
            node = self.cluster.plan.node
            with contextlib.suppress(Exception):
                await self.store.run(lambda s: s.lease.release(node))

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A task of ours ended: at a stop, as it should; otherwise the daemon has failed."""
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        log.critical(
            "the %s task ended%s: slawatch stops, for the service manager to restart it",
            task.get_name(),
            f" on {exc!r}" if exc else "",
            exc_info=exc,
        )
        self.failed.set()

    # -- inputs --------------------------------------------------------------------------------
    def feed(self, event: Input) -> None:
        """Hand one input to the supervisor now and carry out what it decides. A batch of
        probe results that decided nothing leaves the supervisor's timer where it was (no
        capture, no deadline: its next_timer() moves only with an event), so the timer loop
        is not woken to ask again (a wake-up per slice: ~80 a second at 10,000 paths)."""
        self._decide(event)

    def _decide(self, event: Input) -> bool:
        """:meth:`feed`; whether the supervisor decided anything (returned effects)."""
        effects = self.sup.handle(event, self.wall())
        self._carry_out(effects, wake=bool(effects) or not isinstance(event, Probed))
        return bool(effects)

    def on_outcomes(self, keys: list[Hashable], outcomes: Outcomes) -> None:
        """A batch of ICMP outcomes from the scheduler, by position (its keys are PathKeys
        and Controls: ``targets()`` makes them, so no check per result on the hot path)."""
        ats, rtts, errors = outcomes
        self.on_probed(
            Probed(
                targets=tuple(cast(list[Target], keys)),
                ats=tuple(ats),
                oks=tuple([rtt is not None for rtt in rtts]),
                rtts=tuple(rtts),
                errors=tuple(errors),
            )
        )

    def on_probed(self, batch: Probed) -> None:
        """A batch of probe results (from the scheduler, or the SNMP watch's SNMP paths)."""
        self.metrics.probes(batch.oks, batch.rtts)  # one call per batch: see Metrics.probes
        if batch.ats:
            self.metrics.last_probe(batch.ats[-1])
        self.history.add(batch)
        if len(batch) <= FEED_SLICE and not self._slices:
            self.feed(batch)
            return
        self._slices.extend(batch.slices(FEED_SLICE))  # behind those of earlier batches
        if self._slicing is None:
            self._feed_slice()

    def _feed_slice(self) -> None:
        """Feed the next slice of a big batch (``FEED_SLICE``), and the ones after it that
        decide nothing for up to ``FEED_TURN_S``; the rest at the loop's next turn, so
        probes, deliveries and the watchdog run in between."""
        self._slicing = None
        try:
            until = time.monotonic() + FEED_TURN_S
            while self._slices:
                if self._decide(self._slices.popleft()) or time.monotonic() >= until:
                    break
        finally:
            if self._slices:
                self._slicing = asyncio.get_running_loop().call_soon(self._feed_slice)

    def reload(self, plan: Plan, transport: Transport | None = None) -> None:
        """Apply a new configuration (already validated); ``transport``: the notices' way
        out, built anew from it (relays' passwords read again), for every delivery that
        begins from now."""
        if transport is not None:
            self._transport = transport
            if self._notifier is not None:
                self._notifier.transport = transport
        self.feed(Reload(plan=plan))
        self.plan = plan
        if self._stalls is not None:
            self._stalls.threshold_s = plan.stall_s
        self.history.retain({p.key for c in plan.circuits for p in c.paths})
        if self._notifier is not None:
            self._notifier.plan = plan.notify
        self.scheduler.timeout_s = plan.timeout_s
        self.scheduler.set_targets(targets(plan))

    # -- two NOC hosts -----------------------------------------------------------------------
    def _results_fresh(self) -> bool:
        """Whether this node's own probe results are flowing (then it is alive to the others)."""
        last = self._sup.last_probe if self._sup is not None else None
        fresh = self.plan.cluster.fresh_s if self.plan.cluster is not None else 0.0
        return last is not None and (self.wall() - last).total_seconds() < fresh

    async def _lead(self, epoch: int) -> None:
        """This node took the lead: resume the incidents from the journal, with the other
        nodes' views, and owe what is owed (the notifier claims what was left in flight)."""
        assert self.plan.cluster is not None and self.cluster is not None
        resume = await self.store.run(lambda s: s.restore())
        news = await self.store.run(lambda s: s.nodes.news(None))
        sup = Supervisor(self.plan, resume, node=self.plan.cluster.node, leading=True)
        sup.adopt(self.sup)  # this node's own view as it stands, not as last written
        now = self.wall()
        self._sup = sup
        self._carry_out(sup.start(now) + sup.lead(peers(news), now))
        self.metrics.cluster(leader=True, epoch=epoch)

    def _waiting(self) -> list[int]:
        """The incidents this node, leading, still waits to see notified (its ledger's),
        those closed whose breach it counted included: a late write-down may disprove it."""
        return self.sup.awaited(self.wall()) if self.sup.leading else []

    def _follow(self, why: str) -> None:
        """This node lost the lead: it keeps probing and recording its own view, and owes
        nothing (the notifier stops claiming: ``Cluster.may_send``)."""
        self.sup.follow()
        self.metrics.cluster(leader=False, epoch=None)

    # -- effects -------------------------------------------------------------------------------
    def _carry_out(self, effects: list[Effect], *, wake: bool = True) -> None:
        notifier = self._notifier
        assert notifier is not None
        for e in effects:
            if isinstance(e, Record):
                self._record(e)
            elif isinstance(e, Send):
                notifier.send(e)
            elif isinstance(e, Metric):
                self.metrics.apply(e)
            elif isinstance(e, Log):
                log.log(LEVELS[e.level], "%s", e.text)
        if wake:  # the timer loop asks the supervisor again when it next wants a Tick
            self._wake.set()

    def _record(self, e: Record) -> None:
        """Journal facts; a leader's under its lease epoch, so that if it no longer holds the
        lease when they reach the journal, the facts only a leader records are refused
        (store/lease.py) and this node stops leading."""
        facts, c = e.facts, self.cluster
        epoch = None if c is None or not self.sup.leading else -1 if c.epoch is None else c.epoch
        self.writer.write(
            lambda s: s.record(facts, epoch=epoch), done=None if c is None else self._recorded
        )

    def _recorded(self, all_written: bool) -> None:
        if not all_written and self.cluster is not None:
            self.cluster.fenced()

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

    async def _watchdog_loop(self, watch: StallWatch) -> None:
        """Wake every BEAT_S; a stall of the event loop is an unmonitored gap (stall.py)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(BEAT_S)
            gap = watch.ran(loop.time(), self.wall())
            if watch.step_s:
                log.error(
                    "the wall clock stepped %+.3f s: durations across it are wrong by that much;"
                    " review the evidence around it (%s)",
                    watch.step_s,
                    "recorded as an unmonitored gap"
                    if watch.step_s > 0
                    else "results older than the last one are dropped as stale until it catches up",
                )
                self.metrics.clock_step()
            if gap is not None:
                covered = self.cluster is not None and await self._others_fresh()
                self.feed(Stalled(gap=gap, stepped=watch.stepped, covered=covered))

    async def _others_fresh(self) -> bool:
        """Whether another NOC host's results flow now, by the journal (False if the journal
        cannot say: a gap recorded that another host covered is the lesser error)."""
        try:
            return await self.store.run(lambda s: s.others_fresh())
        except JournalError:
            log.warning("could not ask the journal whether another NOC host is monitoring")
            return False

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
