"""The supervisor's reloads: a new configuration applied while the daemon runs.

Reloads keep what they can. A circuit whose paths changed keeps its open incident (same id,
same start); only a path whose address or probe kind changed starts again ``unknown``. A
circuit removed from the configuration has its open incident closed at the reload, "removed
from monitoring", recorded and told to the contacts who were told of it; one found open in the
journal at a start, for a circuit no longer configured, is closed the same way (restore.py;
its contacts are no longer known, so the log says so).

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small.
Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Record
from monitor.core.model import PathState
from monitor.core.owing import Owing
from monitor.core.plan import Plan, changes
from monitor.core.reads import Reads
from monitor.core.restore import REMOVED
from monitor.core.tracker import Event, Incident, IncidentClosed


class Reloading(Owing, Reads):
    """The supervisor's reloads; see the module docstring."""

    _after: Callable[[Sequence[Event], datetime], list[Effect]]
    _closed: Callable[[Incident, datetime], list[Effect]]

    def _reload(self, new: Plan, now: datetime) -> list[Effect]:
        diff = changes(self.plan, new)
        effects: list[Effect] = []
        for cid in diff.removed:
            effects += self._remove(cid, now)
        for cid in diff.added:
            circuit = new.circuit(cid)
            assert circuit is not None
            self.tracker.add_circuit(new.spec(circuit))
        for cid, reset in diff.changed:
            circuit = new.circuit(cid)
            assert circuit is not None
            self.tracker.update_circuit(new.spec(circuit), reset)
            effects += [self._gauge(key, PathState.UNKNOWN) for key in reset]
        events: list[Event] = []
        # always: the control targets take the thresholds too (it changes nothing else when
        # they are the same targets)
        events += self.tracker.set_controls(
            [t.name for t in new.controls],
            now,
            fail_after=new.fail_after,
            recover_after=new.recover_after,
        )
        self.plan = new
        self._terms = self._make_terms()
        for c in new.circuits:
            incident = self.tracker.open_incident(c.id)
            if incident is not None:
                self._track(incident)
        changed = "; ".join(diff.describe()) or "no circuit changed"
        effects.append(Log(level=Level.INFO, text=f"configuration reloaded: {changed}"))
        return effects + self._after(events, now) + self._due(now)

    def _remove(self, cid: str, now: datetime) -> list[Effect]:
        """Close a removed circuit's open incident (told to whoever was told of it), drop
        its series."""
        held = self._unhold(now, cid)  # owed while blind: told before the close
        events = self.tracker.remove_circuit(cid, now, REMOVED)
        effects: list[Effect] = [Record(facts=events), *held] if events else held
        for e in events:
            assert isinstance(e, IncidentClosed)
            effects += self._closed(e.incident, now)
            self.ledger.forget(e.incident.id)
        circuit = self.plan.circuit(cid)
        assert circuit is not None
        paths = tuple(f"{p.key.router}/{p.key.demarc}" for p in circuit.paths)
        return [*effects, Metric(name=MetricName.FORGET, labels=(cid, *paths))]
