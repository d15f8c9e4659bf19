"""What the API, the status page and the metrics read of the supervisor: each circuit's terms
(configured and announced maintenance windows), the windows in force, the incidents waiting
for a notice, and the gauges of path states and availability.

A mixin of :class:`~monitor.core.supervisor.Supervisor`, kept apart to keep each file small;
it decides nothing. Sans-IO like the rest of the core.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import Ledger
from monitor.core.effects import Metric, MetricName
from monitor.core.inputs import Control
from monitor.core.model import Announced, PathKey, PathState
from monitor.core.plan import Plan
from monitor.core.tracker import Tracker


class Reads:
    """The supervisor's read side; see the module docstring."""

    plan: Plan
    tracker: Tracker
    ledger: Ledger
    _windows: dict[int, Announced]
    _terms: dict[str, CircuitTerms]

    def terms(self, circuit: str) -> CircuitTerms:
        return self._terms[circuit]

    @property
    def all_terms(self) -> dict[str, CircuitTerms]:
        return dict(self._terms)

    def windows(self, circuit: str | None = None) -> list[Announced]:
        """Every window in force: the configuration's, then the announced ones."""
        one = None if circuit is None else self.plan.circuit(circuit)
        chosen = self.plan.circuits if circuit is None else (one,) if one else ()
        out = [Announced(circuit=c.id, window=w) for c in chosen for w in c.terms.maintenance]
        return out + [w for w in self._windows.values() if circuit in (None, w.circuit)]

    def pending(self) -> list[tuple[int, str, datetime]]:
        """(incident, circuit, deadline) of incidents still waiting for an accepted notice."""
        return self.ledger.pending()

    def awaited(self, now: datetime) -> list[int]:
        """The incidents a relay's acceptance would still change: the :meth:`pending` ones,
        and those closed whose notification breach was counted (deadlines.py), for a day."""
        return self.ledger.awaited(now)

    def _known(self, key: PathKey | Control) -> bool:
        if isinstance(key, Control):
            return any(t.name == key.name for t in self.plan.controls)
        c = self.plan.circuit(key.circuit)
        return c is not None and any(p.key == key for p in c.paths)

    def _make_terms(self) -> dict[str, CircuitTerms]:
        announced: dict[str, list[Announced]] = {}
        for w in self._windows.values():
            announced.setdefault(w.circuit, []).append(w)
        return {
            c.id: replace(
                c.terms,
                maintenance=(*c.terms.maintenance, *(a.window for a in announced.get(c.id, []))),
                probe_interval_s=c.interval_s,
            )
            for c in self.plan.circuits
        }

    def _gauge(self, key: PathKey, state: PathState) -> Metric:
        value = None if state is PathState.UNKNOWN else float(state is PathState.UP)
        labels = (key.circuit, key.router.value, key.demarc.value)
        return Metric(name=MetricName.PATH_UP, labels=labels, value=value)

    def _available(self, circuit: str) -> Metric:
        up = self.tracker.open_incident(circuit) is None
        return Metric(name=MetricName.CIRCUIT_AVAILABLE, labels=(circuit,), value=float(up))
