"""The supervisor's notice half: what the deadline ledger owes becomes sends (SLA.md §3,
§6.4, §6.5).

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small:
it reads the supervisor's plan, terms, tracker, ledger, held notices and gaps, and decides
nothing the supervisor does not ask of it. Sans-IO like the rest of the core.
"""

from __future__ import annotations

from datetime import datetime

from monitor.core.assess import CircuitTerms, notify_deadline
from monitor.core.deadlines import Action, ActionKind, Ledger
from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Send
from monitor.core.held import Held
from monitor.core.model import Interval, PathKey, PathState
from monitor.core.plan import Plan
from monitor.core.sends import incident_send
from monitor.core.tracker import Incident, Tracker


class Owing:
    """Turns owed notices into sends; see the module docstring."""

    plan: Plan
    tracker: Tracker
    ledger: Ledger
    held: Held
    gaps: list[Interval]
    _terms: dict[str, CircuitTerms]

    def _owes(self, i: Incident) -> bool:
        """Whether a closed incident owes a notice (§6.2, §6.4), as the report judges it
        (``assess.notify_deadline``); a circuit with no terms left is owed what it was."""
        terms = self._terms.get(i.circuit)
        if terms is None:
            return not i.voided
        return notify_deadline(i, terms) is not None

    def _track(self, incident: Incident) -> None:
        circuit = self.plan.circuit(incident.circuit)
        assert circuit is not None
        deadline = notify_deadline(incident, self._terms[circuit.id])
        self.ledger.track(
            incident=incident.id,
            circuit=incident.circuit,
            policy=self.plan.policy(circuit),
            deadline=deadline,
            notified=incident.notified is not None,
        )

    def _owed(self, now: datetime) -> list[Effect]:
        """The ledger's actions whose time has come: breaches counted and logged, the rest
        delivered (or held while blind)."""
        effects: list[Effect] = []
        for action in self.ledger.due(now):
            if action.kind is ActionKind.BREACH:
                effects += [
                    Metric(name=MetricName.BREACHES, labels=(action.circuit,)),
                    Log(level=Level.ERROR, text=f"notification deadline missed: circuit "
                        f"{action.circuit} incident {action.incident}"),
                ]  # fmt: skip
                continue
            incident = self._incident(action)
            if incident is not None and action.recipients:
                effects += self._deliver(action, incident, now)
        return effects

    def _deliver(
        self, action: Action, incident: Incident, now: datetime, *, hold: bool = True
    ) -> list[Send]:
        """The send for ``action``, or none while blind if it is for the customers (§6.5)
        and may wait (``hold``)."""
        if hold and self.tracker.blind and self.held.holds(action):
            self.held.keep(action)
            return []
        return [self._send(action, incident, now)]

    def _unhold(self, now: datetime, circuit: str | None = None) -> list[Effect]:
        """Sight is back (or ``circuit`` leaves the configuration): what the customers were
        owed meanwhile goes out now."""
        sends: list[Effect] = []
        for action in self.held.release(circuit):
            incident = self._incident(action)
            if incident is not None:
                sends.append(self._send(action, incident, now))
        return sends

    def _incident(self, action: Action) -> Incident | None:
        """The tracker's incident ``action`` is about (None: its circuit left the
        configuration, or the incident aged out of the tracker's memory)."""
        if not self.tracker.tracks(action.circuit):
            return None
        return next(
            (i for i in self.tracker.incidents(action.circuit) if i.id == action.incident), None
        )

    def _send(self, action: Action, incident: Incident, now: datetime) -> Send:
        circuit = self.plan.circuit(action.circuit)
        assert circuit is not None
        return incident_send(
            action,
            incident,
            self._terms[circuit.id],
            now=now,
            paths=[(f"{p.key.router}/{p.key.demarc}", self._state(p.key)) for p in circuit.paths],
            blind=self.tracker.blind_spans(),
            gaps=self.gaps,
        )

    def _state(self, key: PathKey) -> PathState:
        try:
            return self.tracker.path_state(key)[0]
        except KeyError:  # a path of a circuit being removed
            return PathState.UNKNOWN
