"""The incident tracker: probe results in, path changes and incidents out (SLA.md §6.1-6.5).

Theory of operation
-------------------
Every path (router x demarc of a circuit) and every control target has a ``Hysteresis``
machine (paths.py). Most results change nothing and cost one dict lookup and a counter bump;
only a *change* of a path's state reaches the circuit logic, which is where incidents live.

A circuit is unavailable while **every** path is ``down`` (``unknown`` is not down). When the
last path goes down, the outage is backdated to the latest ``down_since`` among the paths (the
moment the last path began to fail) and its *detection* is the time of the result that
confirmed it (not backdated: that is when the NOC could first know). When any path comes back
``up``, the outage ends at that path's ``up_since`` (backdated to the first success), but
never before its start; a recovery run that began before the start voids the outage
(duration 0) rather than producing a negative one.

Control targets answer the question "can the monitor see at all?". While any control target is
``down`` the monitor is *blind*: a circuit whose paths all go down then is not opened (it may
be the NOC's own isolation); it is opened when sight returns, if its paths are still all down,
backdated as usual and detected at the moment sight returned. Blind intervals are kept so
reports can show how much of an outage was seen blind (``blind_s``). An incident already open
when blindness starts stays open: its paths were seen failing while the monitor could see.
Blindness is backdated like a path's ``down``, so while a control target's latest results
fail, too few yet to call it down, whether the monitor sees is not known: an outage confirmed
then waits for those targets' next results (doubt.py). Without the wait, the NOC's own uplink
failing just after a control probe and just before the paths' probes opened false outages
(the paths' third failure came before the control's) and told customers of them.

Nothing here reads a clock: times are the probe results' own. Results for one path must come
in time order; across paths, order only decides which path's change is handled first, and
all start/end times are backdated values, so they do not depend on it.

Outputs are event values (``PathChanged``, ``IncidentOpened`` ...); the shell journals them
before acting. ``restore_*`` rebuilds state from the journal after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from monitor.core.circuits import Circuit, CircuitSpec
from monitor.core.doubt import Waiting
from monitor.core.errors import InputError
from monitor.core.events import (
    NO_EVENTS,
    BlindEnded,
    BlindStarted,
    ControlChanged,
    Event,
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    OutageWaiting,
    PathChanged,
    VantageDisagreed,
)
from monitor.core.model import Interval, PathKey, PathState
from monitor.core.paths import Change, Hysteresis
from monitor.core.tracker_batch import Batching
from monitor.core.tracker_doubt import Doubting
from monitor.core.tracker_resume import Resuming
from monitor.core.vantage import Call, Vantage

__all__ = [
    "NO_EVENTS",
    "BlindEnded",
    "BlindStarted",
    "CircuitSpec",
    "ControlChanged",
    "Event",
    "Incident",
    "IncidentClosed",
    "IncidentNotified",
    "IncidentOpened",
    "MonitoringStarted",
    "OutageWaiting",
    "PathChanged",
    "Tracker",
    "VantageDisagreed",
]


class Tracker(Batching, Doubting, Resuming):
    """Incident tracker over many circuits; see the module docstring."""

    def __init__(
        self,
        circuits: Iterable[CircuitSpec],
        *,
        controls: Iterable[str] = (),
        fail_after: int = 3,
        recover_after: int = 2,
        first_id: int = 1,
        vantage: Vantage | None = None,
        decides: bool = True,
    ) -> None:
        self._circuits: dict[str, Circuit] = {}
        self._paths: dict[PathKey, tuple[Hysteresis, Circuit]] = {}
        for spec in circuits:
            self.add_circuit(spec)
        self._hysteresis = {"fail_after": fail_after, "recover_after": recover_after}
        self._controls = {name: Hysteresis(**self._hysteresis) for name in controls}
        self._blind_since: datetime | None = None
        self.blind_intervals: list[Interval] = []
        self._next_id = first_id
        self.vantage = vantage
        """The other NOC hosts' views (None: this host is the only one)."""
        self.decides = decides
        """False on a standby: it keeps its own path states and opens no incident."""
        self._spell_down: set[str] = set()
        """Control targets down in the current blind spell (its start and end are theirs)."""
        self._waiting = Waiting()
        """Outages confirmed while a control target was in doubt (doubt.py)."""

    # -- configuration ------------------------------------------------------------------
    def add_circuit(self, spec: CircuitSpec) -> None:
        """Start tracking a circuit (all its paths ``unknown``)."""
        if spec.id in self._circuits:
            raise InputError(f"circuit {spec.id!r} is already tracked")
        circuit = Circuit(spec)
        self._circuits[spec.id] = circuit
        for key, h in circuit.paths.items():
            self._paths[key] = (h, circuit)

    def remove_circuit(self, circuit_id: str, at: datetime, reason: str) -> tuple[Event, ...]:
        """Stop tracking a circuit (config reload), after :meth:`unwait`. Its open incident
        closes at ``at`` with ``reason``: the monitor no longer knows when it ends, and an
        outage that grew for ever in the record would be a phantom."""
        circuit = self._circuits.pop(circuit_id)
        self._waiting.take(circuit_id)  # none left after unwait()
        for key in circuit.paths:
            del self._paths[key]
        if circuit.open is None:
            return NO_EVENTS
        closed = replace(circuit.open, end=max(at, circuit.open.start), closed_reason=reason)
        circuit.open = None
        return (IncidentClosed(incident=closed),)

    def update_circuit(self, spec: CircuitSpec, reset: Iterable[PathKey] = ()) -> None:
        """Apply a changed circuit (config reload), keeping its open incident: paths in
        ``spec`` that are new, or named in ``reset`` (their address changed), start afresh
        (``unknown``); the others keep their state; paths no longer in ``spec`` go."""
        circuit = self._circuit(spec.id)
        again = set(reset)
        kept = {p: h for p, h in circuit.paths.items() if p in spec.paths and p not in again}
        for h in kept.values():
            h.fail_after, h.recover_after = spec.fail_after, spec.recover_after
        for key in circuit.paths:
            del self._paths[key]
        circuit.paths = {
            p: kept.get(p)
            or Hysteresis(fail_after=spec.fail_after, recover_after=spec.recover_after)
            for p in spec.paths
        }
        for key, h in circuit.paths.items():
            self._paths[key] = (h, circuit)

    def set_controls(
        self,
        names: Iterable[str],
        at: datetime,
        *,
        fail_after: int | None = None,
        recover_after: int | None = None,
    ) -> tuple[Event, ...]:
        """Replace the control targets (config reload): kept ones keep their state, new ones
        start ``unknown``; all take the thresholds given (§6.5: the paths' hysteresis).
        Removing the last down one ends the blind interval at ``at``."""
        if fail_after is not None:
            self._hysteresis["fail_after"] = fail_after
        if recover_after is not None:
            self._hysteresis["recover_after"] = recover_after
        wanted = list(names)
        self._controls = {
            n: self._controls.get(n) or Hysteresis(**self._hysteresis) for n in wanted
        }
        for h in self._controls.values():
            h.fail_after, h.recover_after = (
                self._hysteresis["fail_after"],
                self._hysteresis["recover_after"],
            )
        events: list[Event] = []
        if self._blind_since is not None and not self.blind:
            self._end_blind(at, at, events)
        self._settle(events)
        return tuple(events) if events else NO_EVENTS

    # -- inputs ----------------------------------------------------------------------------
    def observe(self, path: PathKey, at: datetime, ok: bool) -> tuple[Event, ...]:
        """Feed one probe result of a path; returns the events it causes (usually none)."""
        try:
            h, circuit = self._paths[path]
        except KeyError:
            self._circuit(path.circuit)  # names an unknown circuit as such
            raise InputError(f"circuit {path.circuit!r} has no path {path.name}") from None
        change = h.observe(at, ok)
        if circuit.first_seen is None:
            circuit.first_seen = at
            first = MonitoringStarted(circuit=circuit.id, at=at)
            return (first,) if change is None else (first, *self._changed(circuit, path, change))
        if change is None:
            return NO_EVENTS
        return self._changed(circuit, path, change)

    def _changed(self, circuit: Circuit, path: PathKey, change: Change) -> tuple[Event, ...]:
        events: list[Event] = [PathChanged(path=path, change=change)]
        if change.state is PathState.DOWN:
            self._maybe_open(circuit, change.at, events)
        elif circuit.open is not None:
            self._close(circuit, change.since, events)
        elif self._waiting.holds(circuit.id):  # the outage waiting on the controls ended
            self._journal(self._waiting.ended(circuit.id, change.since), events)
        elif self.decides:  # another path closed it, but this one came back first (§6.2)
            self._amend_end(circuit, change.since, events)
        return tuple(events)

    def observe_control(self, target: str, at: datetime, ok: bool) -> tuple[Event, ...]:
        """Feed one probe result of a control target (§6.5)."""
        try:
            h = self._controls[target]
        except KeyError:
            raise InputError(f"unknown control target {target!r}") from None
        change = h.observe(at, ok)
        if change is None and not self._waiting:
            return NO_EVENTS
        events: list[Event] = []
        if change is not None:
            events.append(ControlChanged(target=target, change=change))
            if change.state is PathState.DOWN:
                self._spell_down.add(target)
                if self._blind_since is None:
                    self._blind_since = change.since
                    events.append(BlindStarted(since=change.since, at=at))
                elif change.since < self._blind_since:  # confirmed later, down earlier: the
                    self._blind_since = change.since  # spell began then (recorded at its end)
            elif change.state is PathState.UP and self._blind_since is not None and not self.blind:
                self._end_blind(self._sight(change.since), at, events)
        self._settle(events)
        return tuple(events) if events else NO_EVENTS

    def notified(
        self, circuit_id: str, at: datetime, incident: int | None = None
    ) -> tuple[Event, ...]:
        """A notice about the circuit was accepted at ``at``: it belongs to ``incident`` when
        given, else to the open incident, or else the latest un-notified one. The first
        acceptance is kept; later ones change nothing."""
        circuit = self._circuit(circuit_id)
        if incident is not None:
            known = [*circuit.recent, *([circuit.open] if circuit.open else [])]
            target = next((i for i in known if i.id == incident), None)
        else:
            target = circuit.open
        if target is None and incident is None:
            target = next((i for i in reversed(circuit.recent) if i.notified is None), None)
        if target is None or target.notified is not None:
            return NO_EVENTS
        updated = replace(target, notified=at)
        self._replace(circuit, updated)
        return (IncidentNotified(incident=updated),)

    def excluded(self, incident: Incident) -> None:
        """An operator excluded ``incident`` (Article 8 §2), or withdrew its exclusion: keep
        ``excluded`` as the journal now has it on our copy, if we hold one, so notices about
        it say so."""
        if incident.circuit in self._circuits:
            circuit = self._circuits[incident.circuit]
            ours = next((i for i in self.incidents(circuit.id) if i.id == incident.id), None)
            if ours is not None:
                self._replace(circuit, replace(ours, excluded=incident.excluded))

    # -- state -------------------------------------------------------------------------------
    def tracks(self, circuit_id: str) -> bool:
        return circuit_id in self._circuits

    @property
    def blind(self) -> bool:
        """True while any control target is down."""
        return any(h.state is PathState.DOWN for h in self._controls.values())

    @property
    def blind_since(self) -> datetime | None:
        return self._blind_since

    def blind_spans(self) -> list[Interval]:
        """Closed blind intervals, plus the open one (``end=None``) while blind."""
        spans = list(self.blind_intervals)
        if self._blind_since is not None:
            spans.append(Interval(start=self._blind_since))
        return spans

    def path_state(self, path: PathKey) -> tuple[PathState, datetime | None]:
        h = self._paths[path][0]
        return h.state, h.since

    def control_state(self, target: str) -> tuple[PathState, datetime | None]:
        h = self._controls[target]
        return h.state, h.since

    def open_incident(self, circuit_id: str) -> Incident | None:
        return self._circuit(circuit_id).open

    def incidents(self, circuit_id: str) -> list[Incident]:
        """Recent closed incidents then the open one, oldest first."""
        circuit = self._circuit(circuit_id)
        return [*circuit.recent, *([circuit.open] if circuit.open else [])]

    @property
    def circuit_ids(self) -> list[str]:
        return list(self._circuits)

    # -- internals ---------------------------------------------------------------------------
    def _sight(self, since: datetime) -> datetime:
        """When sight returned: when the last of the targets down in this spell began to
        answer (``since``: the one confirmed now), not the last one confirmed."""
        ups = [h.since for n in self._spell_down if (h := self._controls.get(n)) is not None
               and h.state is PathState.UP and h.since is not None]  # fmt: skip
        return max([since, *ups])

    def _end_blind(self, sight: datetime, at: datetime, events: list[Event]) -> None:
        """Sight returned at ``sight`` (confirmed at ``at``): close the blind interval and open
        the outages that were waiting for it."""
        assert self._blind_since is not None
        interval = Interval(start=self._blind_since, end=max(sight, self._blind_since))
        self._blind_since = None
        self._spell_down.clear()
        self.blind_intervals.append(interval)
        events.append(BlindEnded(interval=interval, at=at))
        for circuit in self._circuits.values():
            self._maybe_open(circuit, at, events)

    def _circuit(self, circuit_id: str) -> Circuit:
        try:
            return self._circuits[circuit_id]
        except KeyError:
            raise InputError(f"unknown circuit {circuit_id!r}") from None

    def _maybe_open(self, circuit: Circuit, at: datetime, events: list[Event]) -> None:
        if circuit.open is not None or self.blind or not self.decides:
            return
        if self.vantage is None:
            if circuit.all_down():
                self._open_or_wait(circuit, circuit.outage_start(), at, False, events)
            return
        call, verdict = self.vantage.judge(circuit.id, circuit.paths, circuit.all_down(), at)
        if call is Call.OUTAGE:
            start = circuit.outage_start()
            start = max(start, verdict.start or start)
            self._open_or_wait(circuit, start, at, verdict.alone, events)
        elif call is Call.DISAGREE:
            self._disagree(circuit, at, events)

    def _open(
        self, circuit: Circuit, start: datetime, at: datetime, single: bool, events: list[Event]
    ) -> None:
        incident = Incident(
            id=self._next_id, circuit=circuit.id, start=start, detected=at, single_vantage=single
        )
        self._next_id += 1
        circuit.open = incident
        events.append(IncidentOpened(incident=incident))

    def _disagree(self, circuit: Circuit, at: datetime, events: list[Event]) -> None:
        assert self.vantage is not None
        own = tuple((k.name, h.state.value) for k, h in circuit.paths.items())
        views = ((self.vantage.me, own), *self.vantage.views(circuit.paths))
        events.append(VantageDisagreed(circuit=circuit.id, at=at, views=views))

    def _amend_end(self, circuit: Circuit, up_since: datetime, events: list[Event]) -> None:
        """A path began to answer at ``up_since``, before the end this node gave the last
        incident: one of its own whose recovery was confirmed after another's (a late result),
        or a live peer's that arrived after this node closed it on its own view. The outage
        ends at the first path back (§6.2), so it ended then."""
        last = circuit.recent[-1] if circuit.recent and circuit.open is None else None
        if last is None or last.end is None or not last.start <= up_since < last.end:
            return
        amended = replace(last, end=up_since)
        circuit.recent[-1] = amended
        events.append(IncidentClosed(incident=amended, amended=True))

    def _close(self, circuit: Circuit, up_since: datetime, events: list[Event]) -> None:
        incident = circuit.open
        assert incident is not None
        closed = replace(incident, end=max(up_since, incident.start))
        circuit.open = None
        circuit.recent.append(closed)
        events.append(IncidentClosed(incident=closed))

    def _replace(self, circuit: Circuit, updated: Incident) -> None:
        if circuit.open is not None and circuit.open.id == updated.id:
            circuit.open = updated
            return
        for i, old in enumerate(circuit.recent):
            if old.id == updated.id:
                circuit.recent[i] = updated
                return
