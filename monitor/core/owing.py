"""The supervisor's notice half: what the deadline ledger owes becomes sends (SLA.md §3,
§6.4, §6.5), and what a :class:`Tick` brings (``_due``: those sends and the evidence captures
whose window has passed).

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small:
it reads the supervisor's plan, terms, tracker, ledger, held notices and gaps, and decides
nothing the supervisor does not ask of it. Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from monitor.core.assess import CircuitTerms, notify_deadline
from monitor.core.deadlines import Action, ActionKind, Ledger
from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Record, Send
from monitor.core.evidence import Recorder
from monitor.core.held import Held
from monitor.core.model import Interval, PathKey, PathState
from monitor.core.plan import Plan
from monitor.core.sends import blind_send, incident_send
from monitor.core.tracker import BlindEnded, BlindStarted, Incident, Tracker

REOWE_WITHIN = timedelta(days=7)
"""A close older than this at a start is history: notices it owed and the outbox does not hold
are not sent late (a late RECOVERED is news for days, not for months)."""

BLIND_REOWE_WITHIN = timedelta(hours=1)
"""The NOC's notices of a blind spell that ended longer ago than this before a start are not
offered again: an alert about the monitor's own sight is news for minutes (a crash and a
restart by the service manager), not for days."""


class Owing:
    """Turns owed notices into sends; see the module docstring."""

    plan: Plan
    leading: bool
    tracker: Tracker
    ledger: Ledger
    held: Held
    gaps: list[Interval]
    evidence: Recorder
    _terms: dict[str, CircuitTerms]

    def _owes(self, i: Incident) -> bool:
        """Whether a closed incident owes a notice (§6.2, §6.4), as the report judges it
        (``assess.notify_deadline``); a circuit with no terms left is owed what it was."""
        terms = self._terms.get(i.circuit)
        if terms is None:
            return not i.voided
        return notify_deadline(i, terms) is not None

    def _track(self, incident: Incident) -> None:
        """Watch ``incident``'s notices and deadline: a leader's (a standby, started while
        the journal holds an incident open, owes nothing: the leader does)."""
        if not self.leading:
            return
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

    def _reowe(
        self,
        closed: Sequence[Incident],
        stored: Mapping[int, Mapping[tuple[str, str | None], Collection[str]]],
        now: datetime,
    ) -> list[Effect]:
        """A start: the notices the closes of restored ``closed`` incidents owed and the
        outbox does not hold (``stored``: incident -> (kind, group) -> recipients), delivered now
        (or held while blind). Cut off by a crash before they reached the outbox, or held
        while blind when the daemon stopped. Left alone: closes older than
        :data:`REOWE_WITHIN`, and closes by removal from monitoring (the operator's act,
        told when it was done, if at all)."""
        effects: list[Effect] = []
        for i in closed:
            circuit = self.plan.circuit(i.circuit)
            if circuit is None or i.end is None or i.closed_reason is not None:
                continue
            if now - i.end > REOWE_WITHIN:
                continue
            owed = self.ledger.resume_closed(
                incident=i.id,
                circuit=i.circuit,
                policy=self.plan.policy(circuit),
                deadline=notify_deadline(i, self._terms[circuit.id]),
                end=i.end,
                notified=i.notified is not None,
                stored=stored.get(i.id, {}),
                now=now,
            )
            owed = [a for a in owed if a.recipients]
            if not owed:
                continue
            names = ", ".join(f"{a.kind} to {a.group}" for a in owed)
            effects.append(
                Log(level=Level.WARNING, text=f"incident {i.id} on {i.circuit} closed at "
                    f"{i.end:%Y-%m-%d %H:%M:%S} UTC; its notices ({names}) never reached the "
                    "outbox (the daemon stopped first, or they were held while blind): "
                    "sending them now")
            )  # fmt: skip
            for action in owed:
                effects += self._deliver(action, i, now)
        return effects

    def _reowe_blind(self, last: Interval | None, now: datetime) -> list[Effect]:
        """A start: the NOC's blind notices that a crash may have kept from the outbox, the
        current blindness's and the latest one's (ended within :data:`BLIND_REOWE_WITHIN`). Each is
        offered again under its own Message-ID (by its ``since``), so the outbox drops those
        it holds."""
        noc, tz = self.plan.notify.noc, self.plan.timezone
        since = self.tracker.blind_since
        if not noc or not self.leading:
            return []
        sends: list[Effect] = []
        if last is not None and last.end is not None and now - last.end <= BLIND_REOWE_WITHIN:
            sends.append(blind_send(BlindStarted(since=last.start, at=now), noc, tz))
            sends.append(blind_send(BlindEnded(interval=last, at=now), noc, tz))
        if self.tracker.blind and since is not None:
            sends.append(blind_send(BlindStarted(since=since, at=now), noc, tz))
        return sends

    def _due(self, now: datetime) -> list[Effect]:
        captured = self.evidence.due(now)
        # probe evidence is a leader's fact (written under its lease): a capture that this node
        # began while it led and that completes once it stands by is dropped, as at a stop
        keep = captured if self.leading else []
        effects: list[Effect] = [Record(facts=tuple(keep))] if keep else []
        return effects + self._owed(now)

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
