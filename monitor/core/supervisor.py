"""The supervisor: the one place where slawatch decides anything.

Theory of operation
-------------------
Like aioquic's connection, the supervisor is a state machine with no IO and no clock. The
shell hands it inputs (``core/inputs.py``), each with the time it is handled, and carries out
the effects it returns (``core/effects.py``) in order; ``next_timer()`` says when it next
wants a :class:`Tick`. It owns:

- the **tracker** (paths, incidents, blindness: tracker.py) and the **deadline ledger** (what
  notice is owed to whom and when: deadlines.py);
- the **terms** of each circuit: the configured ones plus the maintenance windows operators
  announced through the API or CLI (each counts from its announcement);
- what the monitor last saw: RTTs, SNMP readings, the time of the latest probe result, the
  unmonitored gaps (found at the start, and each stall of the event loop the shell reports
  while running: :class:`Stalled`). The API and the status page read these; they decide
  nothing.
- the **evidence recorder** (evidence.py): raw results of the last 15 minutes, captured
  around each incident's opening and closing and recorded (a ``ProbeEvidence`` fact) once
  the window has passed; its next capture is part of ``next_timer()``.

Every change the tracker reports comes back as a :class:`Record` first, so the shell journals
it before any :class:`Send` or :class:`Metric` that follows acts on it. Operator actions
(windows, exclusions) reach the journal *before* they reach the supervisor: the shell writes
them, then tells the supervisor what was written.

Reloads keep what they can (reloads.py); a start restores the journal's memory (restore.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.core.deadlines import Ledger
from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Record
from monitor.core.events import REMOVED
from monitor.core.evidence import Recorder
from monitor.core.facts import Fact, SnmpObserved, Unmonitored
from monitor.core.held import Held
from monitor.core.inputs import (
    Control,
    Delivered,
    Excluded,
    ExclusionWithdrawn,
    Input,
    Peers,
    Probed,
    Reload,
    Resume,
    SnmpReading,
    SnmpSeen,
    Stalled,
    Tick,
    WindowAdded,
    WindowRemoved,
)
from monitor.core.model import Interval, PathKey
from monitor.core.plan import Plan
from monitor.core.reloads import Reloading
from monitor.core.restore import Restoring
from monitor.core.sends import blind_send, disagree_send
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    Event,
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    PathChanged,
    Tracker,
    VantageDisagreed,
)
from monitor.core.vantage import Vantage

__all__ = ["REMOVED", "Supervisor"]

_STANDBY_FACTS = (PathChanged, MonitoringStarted)
"""What a standby journals: its own view of the paths. The rest (incidents, blindness,
control targets) is the leader's record."""


class Supervisor(Restoring, Reloading):
    """Decides everything; see the module docstring. ``plan`` is the configuration,
    ``resume`` what the journal remembered at this start. With ``node`` (two NOC hosts) the
    other hosts' views count (core/vantage.py); a ``leading=False`` supervisor (the standby)
    keeps its own path states and decides no incident, so it sends nothing."""

    def __init__(
        self,
        plan: Plan,
        resume: Resume | None = None,
        *,
        node: str | None = None,
        leading: bool = True,
    ) -> None:
        resume = resume or Resume()
        self.plan = plan
        self.leading = leading
        self.tracker = Tracker(
            [plan.spec(c) for c in plan.circuits],
            controls=[t.name for t in plan.controls],
            fail_after=plan.fail_after,
            recover_after=plan.recover_after,
            vantage=None if node is None else Vantage(node, agree_within=_agree(plan)),
            decides=leading,
        )
        self.ledger = Ledger()
        self.held = Held()
        """Customer notices owed while blind (§6.5), sent when sight returns (held.py)."""
        self.gaps: list[Interval] = list(resume.gaps)
        self.last_probe: datetime | None = None
        self.rtt: dict[PathKey | Control, float | None] = {}
        self.snmp: dict[PathKey, dict[str, SnmpReading]] = {}
        self.evidence = Recorder()
        self._left: dict[int, tuple[Incident, tuple[str, ...], datetime]] = {}
        self._windows = {w.id: w for w in resume.windows if w.id is not None}
        self._terms = self._make_terms()
        self._orphans = self._resume(resume)
        self._resumed = resume
        """What the journal held, for what :meth:`start` owes from it (once)."""

    # -- the shell's calls -----------------------------------------------------------------
    def handle(self, event: Input, now: datetime) -> list[Effect]:
        """Take one input at ``now`` (aware UTC); the effects to carry out, in order."""
        if isinstance(event, Probed):
            return self._probed(event, now)
        if isinstance(event, SnmpSeen):
            return self._snmp(event)
        if isinstance(event, Delivered):
            return self._delivered(event, now)
        if isinstance(event, WindowAdded | WindowRemoved):
            return self._window(event, now)
        if isinstance(event, Excluded | ExclusionWithdrawn):
            self.tracker.excluded(event.incident)
            return []
        if isinstance(event, Reload):
            return self._reload(event.plan, now)
        if isinstance(event, Peers):
            return self._peers(event, now)
        if isinstance(event, Stalled):
            return self._stalled(event)
        assert isinstance(event, Tick)
        return self._due(now)

    def lead(self, peers: Peers, now: datetime) -> list[Effect]:
        """This node took the lead (resumed from the journal): the other hosts' latest
        views, then every circuit looked at afresh (an outage the old leader had not opened
        yet, one that ended while no one led), after this node's own blindness: a blind node
        that takes the lead opens nothing and tells no customer (§6.5)."""
        blind = self._after(self.tracker.own_blindness(now), now)
        return blind + self._peers(peers, now) + self._after(self.tracker.reassess(now), now)

    def adopt(self, old: Supervisor) -> None:
        """Keep what this node saw itself (path and control target states, RTTs, SNMP
        readings, the latest result, the raw results the evidence recorder holds) from the
        supervisor this one replaces (before :meth:`start`)."""
        spell = next((b.start for b in self._resumed.blind if b.end is None), None)
        self.tracker.adopt_paths(old.tracker, spell)
        self.evidence = old.evidence
        self.rtt, self.snmp, self.last_probe = dict(old.rtt), dict(old.snmp), old.last_probe

    def follow(self) -> None:
        """Stop deciding (this node lost the lead): keep its own path states, owe nothing;
        the new leader resumes the incidents from the journal."""
        self.leading = False
        self.tracker.decides = False
        self.ledger = Ledger()
        self.held = Held()  # the new leader owes these from the journal

    def next_timer(self) -> datetime | None:
        """When the next :class:`Tick` is wanted (None: nothing is scheduled)."""
        wanted = [t for t in (self.ledger.next_wakeup(), self.evidence.next_due()) if t]
        return min(wanted, default=None)

    # -- probes ------------------------------------------------------------------------------
    def _probed(self, batch: Probed, now: datetime) -> list[Effect]:
        self.evidence.add(batch)
        self.rtt.update(zip(batch.targets, batch.rtts, strict=True))
        # the daemon's hot path: 10,000 results a second (core/tracker_batch.py)
        events, refused = self.tracker.observe_batch(batch.targets, batch.ats, batch.oks)
        # refused: removed by a reload in flight, or older than one already seen
        effects: list[Effect] = [
            Metric(name=MetricName.DROPPED, labels=("stale" if self._known(k) else "unknown",))
            for k in refused
        ]
        if batch.ats:
            self.last_probe = batch.ats[-1]
        return self._after(events, now) + effects

    def _after(self, events: Sequence[Event], now: datetime) -> list[Effect]:
        """What the tracker's events mean: record them, then act on them."""
        if not events:
            return []
        kept = events if self.leading else [e for e in events if isinstance(e, _STANDBY_FACTS)]
        effects: list[Effect] = [Record(facts=tuple(kept))] if kept else []
        for e in events:
            effects += self._act(e, now)
        return effects + self._due(now)

    def _act(self, e: Event, now: datetime) -> list[Effect]:
        if isinstance(e, PathChanged):
            return [self._gauge(e.path, e.change.state), self._available(e.path.circuit)]
        if isinstance(e, IncidentOpened):
            i = e.incident
            self._track(i)
            self.evidence.capture(i, "opened", now)
            return [
                Metric(name=MetricName.INCIDENTS, labels=(i.circuit,)),
                self._available(i.circuit),
                Log(level=Level.WARNING, text=f"incident {i.id} opened on {i.circuit} "
                    f"(start {i.start.isoformat()}, detected {i.detected.isoformat()})"),
            ]  # fmt: skip
        if isinstance(e, IncidentClosed) and e.amended:
            i = e.incident
            if not self._owes(i):  # moved back onto its start: voided, nothing owed now
                self.ledger.forget(i.id)
            return [
                Log(
                    level=Level.INFO,
                    text=f"incident {i.id} on {i.circuit}: end moved to "
                    f"{i.end.isoformat() if i.end else '-'} (a path was seen answering earlier: "
                    "a later result of its own, or a peer's)",
                )
            ]
        if isinstance(e, IncidentClosed):
            self.evidence.capture(e.incident, "closed", now)
            return self._closed(e.incident, now)
        if isinstance(e, IncidentNotified):
            late = self.ledger.notified(e.incident.id)
            i = e.incident
            assert i.notified is not None
            latency = (i.notified - i.detected).total_seconds()
            effects: list[Effect] = [
                Metric(name=MetricName.NOTIFICATION_LATENCY, value=max(latency, 0.0))
            ]
            if late is not None:  # in time only if written down late (by another NOC host)
                verdict = (
                    "in time (written down late): the breach counted is void"
                    if i.notified <= late
                    else "after the deadline: the breach stands"
                )
                effects.append(Log(level=Level.WARNING, text=f"incident {i.id} on {i.circuit}: "
                    f"a relay accepted a notice at {i.notified:%Y-%m-%d %H:%M:%S.%f} UTC, "
                    f"{verdict} (deadline {late:%Y-%m-%d %H:%M:%S} UTC)"))  # fmt: skip
            return effects
        if isinstance(e, VantageDisagreed):
            alert = [disagree_send(e, self.plan.notify.noc, self.plan.timezone)]
            return [
                Metric(name=MetricName.DISAGREEMENTS, labels=(e.circuit,)),
                Log(level=Level.WARNING, text=f"vantage points disagree on {e.circuit}: "
                    + "; ".join(f"{n} {dict(v)}" for n, v in e.views)),
                *(alert if self.plan.notify.noc else []),
            ]  # fmt: skip
        if isinstance(e, BlindStarted | BlindEnded):
            blind = Metric(name=MetricName.BLIND, value=float(isinstance(e, BlindStarted)))
            held = self._unhold(now) if isinstance(e, BlindEnded) else []
            if not self.plan.notify.noc:
                return [blind, *held]
            return [blind, blind_send(e, self.plan.notify.noc, self.plan.timezone), *held]
        return []

    def _closed(self, i: Incident, now: datetime) -> list[Effect]:
        assert i.end is not None
        hold = i.closed_reason is None  # a removal is told at once, blind or not
        sends = [s for a in self.ledger.close(i.id, i.end, owes=self._owes(i))
                 for s in self._deliver(a, i, now, hold=hold)]  # fmt: skip
        why = f": {i.closed_reason}" if i.closed_reason else ""
        available = [self._available(i.circuit)] if self.tracker.tracks(i.circuit) else []
        return [
            Metric(name=MetricName.OUTAGE_SECONDS, labels=(i.circuit,),
                   value=max((i.end - i.start).total_seconds(), 0.0)),
            *available,
            Log(level=Level.WARNING, text=f"incident {i.id} on {i.circuit} closed "
                f"(end {i.end.isoformat()}){why}"),
            *sends,
        ]  # fmt: skip

    def _peers(self, peers: Peers, now: datetime) -> list[Effect]:
        """The other NOC hosts' news: their path changes, then who is live."""
        events: list[Event] = []
        for p in peers.paths:
            events += self.tracker.peer_seen(p.node, p.path, p.state, p.since, now)
        events += self.tracker.peers_live(peers.live, now)
        events += self.tracker.settle(now)
        return self._after(events, now)

    def _stalled(self, event: Stalled) -> list[Effect]:
        """The event loop stalled (or the wall clock stepped forward) for ``event.gap``: an
        unmonitored gap, recorded as one found at a start is, unless another NOC host's
        results were flowing when the loop ran again (``covered``: the shell asked the
        journal then; the peers' news from before the stall would be stale). The results sent
        late, after the stall, are real: they keep their send time and count as any other (a
        run of failures may straddle the gap); the gap is reported beside every outage it
        touches (assess.py)."""
        gap = event.gap
        assert gap.end is not None
        seconds = (gap.end - gap.start).total_seconds()
        cause = "wall clock stepped forward" if event.stepped else "event loop stalled"
        what = f"{cause} {seconds:.1f} s, {gap.start.isoformat()} .. {gap.end.isoformat()}"
        stalls = [] if event.stepped else [Metric(name=MetricName.STALLS)]
        if event.covered:
            text = f"{what}; another NOC host was monitoring: no gap"
            return [*stalls, Log(level=Level.WARNING, text=text)]
        self.gaps.append(gap)
        return [
            Record(facts=(Unmonitored(gap=gap),)),
            *stalls,
            Metric(name=MetricName.UNMONITORED, value=seconds),
            Log(level=Level.WARNING, text=f"unmonitored gap: {what} (recorded as a gap)"),
        ]

    # -- SNMP, relays, operators --------------------------------------------------------------
    def _snmp(self, seen: SnmpSeen) -> list[Effect]:
        """Keep the latest reading per path and kind; record a reading that changed, and
        every trap."""
        facts: list[Fact] = []
        for r in seen.readings:
            if not self._known(r.path):
                continue
            self.evidence.reading(r)
            latest = self.snmp.setdefault(r.path, {})
            last = latest.get(r.kind)
            if r.kind != "trap":
                latest[r.kind] = r
            if r.kind == "trap" or last is None or (last.ok, last.value, last.text) != (
                r.ok, r.value, r.text
            ):  # fmt: skip
                facts.append(
                    SnmpObserved(path=r.path, at=r.at, kind=r.kind, value=r.value, text=r.text)
                )
        return [Record(facts=tuple(facts))] if facts else []

    def _delivered(self, d: Delivered, now: datetime) -> list[Effect]:
        """The first acceptance for a designated contact is the incident's notification
        (for a circuit a reload removed since: ``_delivered_left``)."""
        if d.incident is None:
            return []
        circuit = self.plan.circuit(d.circuit)
        if circuit is None or d.incident in self._left:
            return self._delivered_left(d, now)
        at = d.told(circuit.contacts)
        if at is None:
            return []
        return self._after(self.tracker.notified(d.circuit, at, d.incident), now)

    def _window(self, event: WindowAdded | WindowRemoved, now: datetime) -> list[Effect]:
        if isinstance(event, WindowAdded):
            assert event.window.id is not None
            self._windows[event.window.id] = event.window
        else:
            self._windows.pop(event.id, None)
        self._terms = self._make_terms()
        for c in self.plan.circuits:  # a window may move an open incident's deadline
            incident = self.tracker.open_incident(c.id)
            if incident is not None:
                self._track(incident)
        return self._due(now)


def _agree(plan: Plan) -> timedelta:
    """How long a split between NOC hosts may last before it is a disagreement."""
    return timedelta(seconds=plan.cluster.agree_s if plan.cluster is not None else 0.0)
