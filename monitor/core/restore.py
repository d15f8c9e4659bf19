"""The supervisor's start: the journal's memory restored (path and control states, incidents,
blind spells, outages waiting on the control targets), then what the start owes: the
incidents held open for circuits no longer configured closed (and their waiting outages opened
and closed, as a reload removing them does), the waiting outages the control targets decide
now, the notification times the relays' acceptances prove and the journal lacks recorded, the
notices a crash or a stop kept from the outbox owed again (owing.py), and a blind spell no
configured control target keeps open ended.

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small.
Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Record
from monitor.core.events import REMOVED
from monitor.core.inputs import Control, Resume
from monitor.core.model import Interval
from monitor.core.owing import Owing
from monitor.core.reads import Reads
from monitor.core.sends import blind_send
from monitor.core.tracker import (
    BlindEnded,
    Event,
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    OutageWaiting,
)


class Restoring(Owing, Reads):
    """The supervisor's start; see the module docstring."""

    _orphans: list[Incident]
    _gone: list[OutageWaiting]
    _resumed: Resume
    _proven: list[IncidentNotified]
    _after: Callable[[Sequence[Event], datetime], list[Effect]]
    """The supervisor's: record the tracker's events, then act on them."""

    def start(self, now: datetime) -> list[Effect]:
        """Effects of a start: every restored state as a gauge, the incidents the journal
        held open for circuits no longer configured, closed now, and (leading) the
        notification times the deliveries prove (:meth:`_resume`), what the closes of the
        restored closed incidents owed that the outbox does not hold, and the NOC's blind
        notices offered again (owing.py)."""
        effects: list[Effect] = [
            self._gauge(p.key, self.tracker.path_state(p.key)[0])
            for c in self.plan.circuits
            for p in c.paths
        ]
        effects += [self._available(c.id) for c in self.plan.circuits]
        effects.append(Metric(name=MetricName.BLIND, value=float(self.tracker.blind)))
        for incident in self._orphans:
            closed = replace(incident, end=max(now, incident.start), closed_reason=REMOVED)
            effects += [
                Record(facts=(IncidentClosed(incident=closed),)),
                Log(level=Level.WARNING, text=f"incident {incident.id} of {incident.circuit}, "
                    "no longer configured, closed: removed from monitoring (its contacts are "
                    "not known any more: no notice)"),
            ]  # fmt: skip
        self._orphans = []
        effects += self._gone_waits(now)
        if self.leading:
            effects += self._told_in_fact()
            effects += self._after(self.tracker.decide_waiting(), now)
            r = self._resumed
            ended = [b for b in r.blind if b.end is not None]
            told = {e.incident.id: e.incident for e in self._proven}
            closes = [told.get(i.id, i) for i in r.incidents if i.end is not None]
            effects += self._reowe(closes, r.notices, now)
            effects += self._reowe_blind(max(ended, key=lambda b: b.start, default=None), now)
            effects += self._end_stale([b for b in r.blind if b.end is None], now)
        self._resumed, self._proven = Resume(), []
        return effects + self._due(now)

    def _told_in_fact(self) -> list[Effect]:
        """Record each notification time :meth:`_resume` took from the deliveries."""
        if not self._proven:
            return []
        return [
            Record(facts=tuple(self._proven)),
            *(Log(level=Level.WARNING, text=f"incident {e.incident.id} on {e.incident.circuit}: "
                  "the journal had no notification time, but a relay accepted a notice to a "
                  f"designated contact at {e.incident.notified:%Y-%m-%d %H:%M:%S.%f} UTC "
                  "(its deliveries): recorded now, not sent again")
              for e in self._proven),
        ]  # fmt: skip

    def _gone_waits(self, now: datetime) -> list[Effect]:
        """The outages the journal holds waiting for circuits no longer configured: opened
        and closed now, as a reload removing them opens and closes them (no notice, as for
        the incidents held open: their contacts are not known any more)."""
        effects: list[Effect] = []
        for fact in self._gone:
            events = self.tracker.unwait_gone(fact, now, REMOVED)
            done = ("opened and closed: removed from monitoring (no notice)"
                    if any(isinstance(e, IncidentOpened) for e in events)
                    else "not opened: the monitor was blind at its detection")  # fmt: skip
            effects += [
                Record(facts=events),
                Log(level=Level.WARNING, text=f"an outage of {fact.circuit} (start "
                    f"{fact.start.isoformat()}) waited on the control targets when the daemon "
                    f"stopped; the circuit is no longer configured: {done}"),
            ]  # fmt: skip
        self._gone = []
        return effects

    def _end_stale(self, spells: list[Interval], now: datetime) -> list[Effect]:
        """End the journal's open blind ``spells`` if no control target keeps them open (the
        one that did was removed from the configuration while the daemon was stopped): the
        monitor sees (it was not running in between: a gap says so)."""
        effects: list[Effect] = []
        for spell in [] if self.tracker.blind else spells:
            ended = BlindEnded(interval=Interval(start=spell.start, end=max(now, spell.start)),
                               at=now)  # fmt: skip
            self.tracker.blind_intervals.append(ended.interval)
            effects += [
                Record(facts=(ended,)),
                Log(level=Level.WARNING, text=f"the blind spell since {spell.start.isoformat()} "
                    "was open in the journal, but no configured control target is down: ended "
                    "now"),
            ]  # fmt: skip
            if self.plan.notify.noc:
                effects.append(blind_send(ended, self.plan.notify.noc, self.plan.timezone))
        return effects

    def _resume(self, resume: Resume) -> list[Incident]:
        """Restore the journal's memory; return open incidents of unconfigured circuits. An
        incident the journal holds as never notified whose notice a relay accepted for a
        designated contact (``resume.accepted``: the leader lost its lease, or the daemon
        died, between the relay's 250 and the notified fact) was notified then (§6.4), as
        :meth:`Delivered.told <monitor.core.inputs.Delivered.told>` rules live."""
        t = self.tracker
        told: dict[int, datetime] = {}
        for d in resume.accepted:
            plan = self.plan.circuit(d.circuit)
            at = None if plan is None else d.told(plan.contacts)
            if at is not None and d.incident is not None:
                told[d.incident] = min(at, told.get(d.incident, at))
        self._proven = []
        for key, (state, since) in resume.paths.items():
            if self._known(key):
                t.restore_path(key, state, since)
        for name, (state, since) in resume.controls.items():
            if self._known(Control(name=name)):
                t.restore_control(name, state, since)
        for circuit, at in resume.first_results.items():
            if self.plan.circuit(circuit) is not None:
                t.restore_first_seen(circuit, at)
        orphans = []
        for incident in resume.incidents:
            if self.plan.circuit(incident.circuit) is None:
                orphans += [incident] if incident.end is None else []
                continue
            if incident.notified is None and incident.id in told:
                incident = replace(incident, notified=told[incident.id])
                self._proven.append(IncidentNotified(incident=incident))
            t.restore_incident(incident)
            if incident.end is None:
                self._track(incident)
        t.blind_intervals.extend(i for i in resume.blind if i.end is not None)
        for spell in (i for i in resume.blind if i.end is None):
            t.restore_blind(spell.start)
        waits = resume.waiting if t.vantage is None or self.leading else ()  # doubt.py
        t.restore_waiting(waits)
        self._gone = [w for w in waits if self.plan.circuit(w.circuit) is None]
        t.afresh_unopened()
        return orphans
