"""The supervisor's reloads: a new configuration applied while the daemon runs.

Reloads keep what they can. A circuit whose paths changed keeps its open incident (same id,
same start); only a path whose address or probe kind changed starts again ``unknown``. A
circuit removed from the configuration has its open incident closed at the reload, "removed
from monitoring", recorded and told to the contacts who were told of it; its outages still
waiting on the control targets (doubt.py) are opened first, with their own start and
detection (the removal closes the last one, if no path came back). A relay may accept their
notices after the removal: the acceptance by a contact the circuit had then is still the
incident's notification (``_delivered_left``), for a day after the removal (LEFT_KEEP: later,
the notice is past its deadline whenever it went out, and the table would only grow). One
found open in the journal at a start, for
a circuit no longer configured, is closed the same way (restore.py; its contacts are no
longer known, so the log says so).

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small.
Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.effects import Effect, Level, Log, Metric, MetricName, Record
from monitor.core.events import REMOVED
from monitor.core.inputs import Delivered
from monitor.core.model import PathState
from monitor.core.owing import Owing
from monitor.core.plan import Plan, changes
from monitor.core.reads import Reads
from monitor.core.tracker import Event, Incident, IncidentClosed, IncidentNotified

LEFT_KEEP = timedelta(days=1)
"""How long after its circuit's removal an unnotified incident still takes its acceptance."""


class Reloading(Owing, Reads):
    """The supervisor's reloads; see the module docstring."""

    _left: dict[int, tuple[Incident, tuple[str, ...], datetime]]
    """Unnotified incidents of circuits a reload removed, with the circuit's contacts then and
    the time of the removal."""
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
        """Open the removed circuit's waiting outages, close its open incident (told to
        whoever was told of it), drop its series."""
        waited = self.tracker.unwait(cid)
        effects = self._after(waited, now)
        held = self._unhold(now, cid)  # owed while blind: told before the close
        known = {i.id: i for i in self.tracker.incidents(cid)}
        events = self.tracker.remove_circuit(cid, now, REMOVED)
        effects += [Record(facts=events), *held] if events else held
        for e in events:
            assert isinstance(e, IncidentClosed)
            known[e.incident.id] = e.incident
            effects += self._closed(e.incident, now)
        for e in (*waited, *events):
            if isinstance(e, IncidentClosed):  # nothing more is owed for it
                self.ledger.forget(e.incident.id)
        circuit = self.plan.circuit(cid)
        assert circuit is not None
        for iid in [i for i, (_, _, at) in self._left.items() if now - at > LEFT_KEEP]:
            del self._left[iid]
        self._left.update(
            (i.id, (i, circuit.contacts, now)) for i in known.values() if i.notified is None
        )
        paths = tuple(f"{p.key.router}/{p.key.demarc}" for p in circuit.paths)
        return [*effects, Metric(name=MetricName.FORGET, labels=(cid, *paths))]

    def _delivered_left(self, d: Delivered, now: datetime) -> list[Effect]:
        """A relay's answers for a notice about an incident of a circuit removed since: the
        first acceptance for one of its contacts then is the incident's notification (the
        journal would otherwise hold a notice sent in time as never sent)."""
        left = self._left.get(d.incident) if d.incident is not None else None
        if left is None:
            return []
        incident, contacts, removed = left
        if now - removed > LEFT_KEEP:
            del self._left[incident.id]
            return []
        at = d.told(contacts)
        if at is None:
            return []
        del self._left[incident.id]
        return self._after((IncidentNotified(incident=replace(incident, notified=at)),),
                           now)  # fmt: skip
