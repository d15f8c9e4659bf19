"""The tracker's outages that wait on the control targets in doubt (doubt.py, SLA.md §6.5):
made, journalled, decided and opened; opened when their circuit leaves the configuration;
resumed from the journal at a start.

A mixin of :class:`~monitor.core.tracker.Tracker`, kept apart to keep each file small; what it
uses of the tracker is :class:`~monitor.core.tracker_resume._Tracker`. Sans-IO like the rest
of the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from monitor.core.circuits import Circuit
from monitor.core.doubt import Episode, in_doubt, verdict
from monitor.core.events import (
    NO_EVENTS,
    Event,
    Incident,
    IncidentClosed,
    IncidentOpened,
    OutageWaiting,
)
from monitor.core.model import PathState
from monitor.core.tracker_resume import _Tracker


class Doubting:
    """See the module docstring."""

    def _open_or_wait(
        self: _Tracker,
        circuit: Circuit,
        start: datetime,
        at: datetime,
        single: bool,
        events: list[Event],
    ) -> None:
        doubt = in_doubt(self._controls)
        if doubt or self._waiting.holds(circuit.id):  # the controls decide (doubt.py)
            episode = Episode(circuit=circuit.id, start=start, detected=at, single=single,
                              doubt=doubt)  # fmt: skip
            if self._waiting.add(episode):
                self._journal(episode, events)
        else:
            self._open(circuit, start, at, single, events)

    def _journal(self: _Tracker, episode: Episode | None, events: list[Event]) -> None:
        """Record ``episode`` as it stands now (with two NOC hosts, a leader's fact: a
        standby makes no episode, and the supervisor records none once the lead is lost)."""
        if episode is not None:
            events.append(episode.fact())

    def _settle(self: _Tracker, events: list[Event]) -> None:
        """Open each waiting outage the control targets have now decided the monitor saw
        (closed at once if a path came back meanwhile; with other NOC hosts, closed too if a
        live one sees a path answer); one it did not see opens when sight returns."""
        if not self._waiting:
            return
        for e in self._waiting.decide(self._controls):
            self._journal(e, events)
        for e in self._waiting.released():
            circuit = self._circuits.get(e.circuit)
            if not e.seen or circuit is None or circuit.open is not None or not self.decides:
                continue
            self._open(circuit, e.start, e.detected, e.single, events)
            if e.end is not None:
                self._close(circuit, e.end, events)
            elif self.vantage is not None:
                self._recheck(circuit, e.detected, events)

    def decide_waiting(self: _Tracker) -> tuple[Event, ...]:
        """Decide the waiting outages the control targets decide now (at a start: those
        resumed from the journal whose targets left the configuration)."""
        events: list[Event] = []
        self._settle(events)
        return tuple(events) if events else NO_EVENTS

    def unwait(self: _Tracker, circuit_id: str) -> tuple[Event, ...]:
        """``circuit_id`` leaves the configuration (before :meth:`remove_circuit`): each of
        its outages still waiting on the control targets opens, with its own start and
        detection, closed if a path came back meanwhile (the removal closes the last), unless
        the targets found the monitor blind at its detection. The monitor is not blind by
        them now, and the circuit is no longer watched when they decide: the outage counts
        as seen, as any outage confirmed while they answered."""
        circuit = self._circuit(circuit_id)
        events: list[Event] = []
        for e in self._waiting.take(circuit_id):
            if e.seen is None:
                e.seen = verdict(e, self._controls) is not False
                self._journal(e, events)
            if e.seen and circuit.open is None and self.decides:
                self._open(circuit, e.start, e.detected, e.single, events)
                if e.end is not None:
                    self._close(circuit, e.end, events)
        return tuple(events) if events else NO_EVENTS

    def unwait_gone(
        self: _Tracker, fact: OutageWaiting, at: datetime, reason: str
    ) -> tuple[Event, ...]:
        """An outage the journal holds waiting for a circuit no longer configured (removed
        while the daemon was stopped), decided as :meth:`unwait` decides: opened and closed
        (at ``at`` with ``reason`` if no path came back), with the fact that says so."""
        e = Episode.of(fact)
        e.seen = verdict(e, self._controls) is not False
        if not e.seen:
            return (e.fact(),)
        opened = Incident(id=self._next_id, circuit=e.circuit, start=e.start,
                          detected=e.detected, single_vantage=e.single)  # fmt: skip
        self._next_id += 1
        end = max(at if e.end is None else e.end, e.start)
        closed = replace(opened, end=end, closed_reason=reason if e.end is None else None)
        return (e.fact(), IncidentOpened(incident=opened), IncidentClosed(incident=closed))

    def restore_waiting(self: _Tracker, waits: Iterable[OutageWaiting]) -> None:
        """Resume the outages the journal holds waiting, of the circuits still tracked (after
        the control targets are restored; the supervisor opens and closes those of circuits
        no longer configured: ``unwait_gone``). Their paths keep their restored states
        (``afresh_unopened`` leaves them), and each target in doubt resumes its failing run
        one failure short of down: the journal cannot say how many of its failures the
        daemon saw before it stopped, so its first result after the start decides (a
        failure: blind from that run, as if the daemon had seen the ones before it; an
        answer: the monitor saw). The outage opens with its own start and detection.

        With two NOC hosts (a new leader's, or a restarted node's, taking the lead) the
        control targets are left as they are: the journal's are the old leader's, and this
        node's own replace them (``adopt_paths``). Those runs decide: a wait this node
        journalled while it led, its runs going on since, is decided as it would have been;
        another host's targets in doubt are not watched from here, so the monitor counts as
        having seen (as for targets that left the configuration: ``verdict``)."""
        for fact in waits:
            if fact.circuit not in self._circuits:
                continue
            e = Episode.of(fact)
            self._waiting.resume(e)
            if self.vantage is not None:
                continue
            for name, run_start in e.doubt.items():
                h = self._controls.get(name)
                if h is None or h.state is PathState.DOWN:
                    continue
                if h.run_start is None or h.run_start <= run_start:
                    h.run_ok, h.run_start, h.run_len = False, run_start, h.fail_after - 1
