"""The tracker's outages that wait on the control targets in doubt (doubt.py, SLA.md §6.5):
made, journalled, decided and opened; resumed from the journal at a start.

A mixin of :class:`~monitor.core.tracker.Tracker`, kept apart to keep each file small; what it
uses of the tracker is :class:`~monitor.core.tracker_resume._Tracker`. Sans-IO like the rest
of the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from monitor.core.circuits import Circuit
from monitor.core.doubt import Episode, in_doubt
from monitor.core.events import NO_EVENTS, Event, OutageWaiting
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
        """Record ``episode`` as it stands now (one NOC host only: doubt.py)."""
        if episode is not None and self.vantage is None:
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

    def restore_waiting(self: _Tracker, waits: Iterable[OutageWaiting]) -> None:
        """Resume the outages the journal holds waiting, of the circuits still tracked (after
        the control targets are restored; one of a circuit no longer configured is lost).
        Their paths keep their restored states (``afresh_unopened`` leaves them), and each
        target in doubt resumes its failing run one failure short of down: the journal cannot
        say how many of its failures the daemon saw before it stopped, so its first result
        after the start decides (a failure: blind from that run, as if the daemon had seen the
        ones before it; an answer: the monitor saw). The outage opens with its own start and
        detection."""
        for fact in waits:
            if fact.circuit not in self._circuits:
                continue
            e = Episode.of(fact)
            self._waiting.resume(e)
            for name, run_start in e.doubt.items():
                h = self._controls.get(name)
                if h is None or h.state is PathState.DOWN:
                    continue
                if h.run_start is None or h.run_start <= run_start:
                    h.run_ok, h.run_start, h.run_len = False, run_start, h.fail_after - 1
