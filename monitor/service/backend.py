"""What the HTTP API and the status page read and change: the supervisor's view of now, the
journal's record of the past, and the operators' changes.

Incidents come from the journal (the record of fact) and are assessed here with the circuit's
current terms, so a maintenance window added later changes counted durations retroactively,
as announced suspensions should. The same backend serves the running daemon's API and the
offline CLI (over a supervisor resumed read-only from the journal), so both print the same
figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.core.assess import Assessment, CircuitTerms, assess
from monitor.core.availability import measure
from monitor.core.errors import NotFoundError
from monitor.core.intervals import Span, closed
from monitor.core.model import Announced
from monitor.core.plan import Plan
from monitor.core.sla import maintenance_spans
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import Incident
from monitor.core.views import iso, sla_view, stored_incident_view
from monitor.service import cluster_view
from monitor.service.cluster import Cluster
from monitor.service.operations import Operations
from monitor.service.pages import PageViews
from monitor.service.rtt_history import RttHistory
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.web.views import CircuitStatus, OpenIncident, PathStatus, StatusView, UpcomingWindow

STALE_PROBES = timedelta(seconds=30)
"""/healthz fails when no probe result arrived for this long."""
STATUS_SLICE = 25
"""Circuits of the status view worked out between two returns to the event loop (~15 ms at
1,000 circuits with an open incident each): the probes and the watchdog go on meanwhile."""


class Backend(PageViews):
    """Implements ``monitor.web.Backend`` over a supervisor, its journal and operations;
    ``history`` holds the RTTs of the last day (None: no sparklines, as offline)."""

    def __init__(
        self,
        sup: Callable[[], Supervisor],
        *,
        store: AsyncStore[Store],
        ops: Operations,
        wall: Callable[[], datetime],
        history: RttHistory | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self._sup, self._store, self.ops, self._wall = sup, store, ops, wall
        self.history = history
        self._cluster = cluster
        self._printing = asyncio.Semaphore(1)

    @property
    def sup(self) -> Supervisor:
        return self._sup()

    @property
    def plan(self) -> Plan:
        return self.sup.plan

    # -- reading -------------------------------------------------------------------------------
    def _assess(self, incident: Incident, now: datetime) -> Assessment:
        sup = self.sup
        return assess(incident, sup.terms(incident.circuit), now=now,
                      blind=sup.tracker.blind_spans(), gaps=sup.gaps)  # fmt: skip

    def _view(self, a: Assessment) -> dict[str, Any]:
        return stored_incident_view(a, self.sup.terms(a.incident.circuit).tz)

    def _configured(self, incident: Incident) -> bool:
        return self.plan.circuit(incident.circuit) is not None

    async def circuits(self) -> list[dict[str, Any]]:
        sup = self.sup
        out = []
        for c in self.plan.circuits:
            paths = []
            for p in c.paths:
                state, since = sup.tracker.path_state(p.key)
                rtt = sup.rtt.get(p.key)
                snmp = sup.snmp.get(p.key, {})
                paths.append({
                    "router": p.key.router.value,
                    "demarc": p.key.demarc.value,
                    "address": p.address,
                    "state": state.value,
                    "since": iso(since, UTC),
                    "rtt_ms": None if rtt is None else rtt * 1000,
                    "probe": p.probe,
                    "snmp": {kind: {"ok": r.ok, "value": r.value, "text": r.text,
                                    "at": iso(r.at, UTC)} for kind, r in snmp.items()},
                })  # fmt: skip
            incident = sup.tracker.open_incident(c.id)
            out.append({
                "id": c.id,
                "monthly_fee_yen": c.terms.fee_yen,
                "static_nat_fee_yen": c.terms.static_nat_fee_yen,
                "timezone": str(c.terms.tz),
                "available": incident is None,
                "open_incident": None if incident is None else incident.id,
                "paths": paths,
            })  # fmt: skip
        return out

    async def incidents(
        self, circuit: str | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        if circuit is not None:
            self.ops.known(circuit)
        now = self._wall()
        found = await self._store.run(lambda s: s.incidents(circuit, start, end))
        return [self._view(self._assess(i, now)) for i in found if self._configured(i)]

    async def incident(self, incident_id: int) -> dict[str, Any] | None:
        found = await self._store.run(lambda s: s.incident(incident_id))
        if found is None or not self._configured(found):
            return None
        now = self._wall()
        view = self._view(self._assess(found, now))
        tz = self.sup.terms(found.circuit).tz
        timeline = await self._store.run(lambda s: s.timeline(incident_id, now))
        view["timeline"] = [{"at": iso(e.at, tz), "kind": e.kind, "text": e.text} for e in timeline]
        if self.plan.cluster is not None:  # two NOC hosts: each one's own view, whole
            views = await self._node_views(found, now)
            view["node_views"] = {
                node: [{"start": iso(a, tz), "end": iso(b, tz) if b else None} for a, b in spans]
                for node, spans in views.items()
            }
        return view

    async def sla(self, month: str) -> dict[str, Any]:
        """The month's figures from monitor.core.report, the same as ``slawatch report``."""
        return sla_view(await self.month(month))

    # -- changing ------------------------------------------------------------------------------
    async def add_maintenance(
        self,
        circuit: str,
        start: datetime,
        end: datetime,
        note: str,
        source: str = "api",
        *,
        announced_at: datetime | None = None,
        by: str = "",
    ) -> dict[str, Any]:
        stored = await self.ops.add_window(circuit, start, end, note=note, source=source,
                                           announced_at=announced_at, by=by)  # fmt: skip
        return self._window(stored)

    def _window(self, a: Announced) -> dict[str, Any]:
        tz = self.sup.terms(a.circuit).tz
        w = a.window
        return {
            "id": a.id,
            "circuit": a.circuit,
            "start": iso(w.start, tz),
            "end": iso(w.end, tz),
            "note": w.note,
            "source": a.source,
            "announced_at": iso(w.told, tz),
            "recorded_at": iso(a.recorded_at, tz),
            "recorded_by": a.recorded_by,
            "recorded_late": a.late,
        }

    async def maintenance(self, circuit: str | None) -> list[dict[str, Any]]:
        """Every window in force: the configuration's (id None: edit the YAML to change them)
        and those announced through the API or CLI (removable by id). Sorted by start."""
        if circuit is not None:
            self.ops.known(circuit)
        windows = [w for w in self.sup.windows(circuit) if self.plan.circuit(w.circuit)]
        return sorted((self._window(w) for w in windows), key=lambda w: (w["start"], w["circuit"]))

    async def remove_maintenance(self, window_id: int) -> dict[str, Any]:
        removed = await self.ops.remove_window(window_id)
        if self.plan.circuit(removed.circuit) is None:
            return {"id": removed.id, "circuit": removed.circuit, "removed": True}
        return {**self._window(removed), "removed": True}

    async def exclude(self, incident_id: int, reason: str) -> dict[str, Any]:
        await self.ops.exclude(incident_id, reason)
        found = await self.incident(incident_id)
        if found is None:
            raise NotFoundError(f"no incident {incident_id}", "id")
        return found

    async def withdraw_exclusion(self, incident_id: int, reason: str) -> dict[str, Any]:
        """The incident as it now stands, with ``withdrawn``: the exclusion withdrawn."""
        w = await self.ops.withdraw_exclusion(incident_id, reason)
        found = await self.incident(incident_id)
        if found is None:
            raise NotFoundError(f"no incident {incident_id}", "id")
        tz = self.sup.terms(w.circuit).tz
        withdrawn = {"excluded": w.excluded, "excluded_at": iso(w.excluded_at, tz),
                     "reason": w.reason, "at": iso(w.at, tz)}  # fmt: skip
        return {**found, "withdrawn": withdrawn}

    async def cluster(self) -> dict[str, Any]:
        """The NOC hosts: this node's role, the lease and every node's last word
        (service/cluster_view.py); one node without ``cluster:``."""
        plan = self.plan.cluster
        if plan is None:
            return dict(cluster_view.SINGLE)
        if self._cluster is not None:
            return cluster_view.live(plan, self._cluster)
        lease, roster = await self._store.run(lambda s: (s.lease.current(), s.nodes.roster()))
        return cluster_view.journal(plan, lease, roster)

    # -- the page ------------------------------------------------------------------------------
    async def status(self) -> StatusView:
        sup = self.sup
        now = self._wall()
        recent = await self._store.run(lambda s: s.incidents(None, now - timedelta(days=31), None))
        by_circuit: dict[str, list[Incident]] = {}
        for i in recent:
            by_circuit.setdefault(i.circuit, []).append(i)
        unseen = closed((*sup.tracker.blind_spans(), *sup.gaps), now)
        circuits = []
        for n, c in enumerate(await self.circuits()):
            if n and not n % STATUS_SLICE:  # 1,000 circuits take ~0.5 s: never in one piece
                await asyncio.sleep(0)
            terms = sup.terms(c["id"])
            open_i = sup.tracker.open_incident(c["id"])
            circuits.append(
                CircuitStatus(
                    id=c["id"],
                    timezone=str(terms.tz),
                    available=c["available"],
                    paths=tuple(
                        PathStatus(
                            router=p["router"],
                            demarc=p["demarc"],
                            state=p["state"],
                            rtt_ms=p["rtt_ms"],
                            since=datetime.fromisoformat(p["since"]) if p["since"] else None,
                        )
                        for p in c["paths"]
                    ),
                    incident=None if open_i is None else self._open(open_i, now),
                    days=self._days(by_circuit.get(c["id"], []), now, terms, unseen),
                    maintenance=self._upcoming(c["id"], now),
                )
            )
        return StatusView(generated_at=now, blind=sup.tracker.blind, circuits=tuple(circuits))

    def _upcoming(self, circuit: str, now: datetime) -> tuple[UpcomingWindow, ...]:
        return tuple(
            UpcomingWindow(
                start=a.window.start,
                end=a.window.end,
                note=a.window.note,
                announced_at=a.window.told,
                late=a.late,
            )
            for a in sorted(self.sup.windows(circuit), key=lambda a: a.window.start)
            if a.window.end > now
        )

    def _open(self, i: Incident, now: datetime) -> OpenIncident:
        a = self._assess(i, now)
        return OpenIncident(id=i.id, start=i.start, detected=i.detected,
                            deadline=a.notify_deadline, notified=i.notified)  # fmt: skip

    def _days(
        self,
        incidents: list[Incident],
        now: datetime,
        terms: CircuitTerms,
        unseen: Sequence[Span] | None = None,
    ) -> tuple[tuple[date, float | None], ...]:
        """Availability of each of the last 30 local days, as the report measures a month
        (core/availability.py): None for a day before the circuit's first probe result, or
        with no service time (all maintenance, unmonitored or blind: ``unseen``, as closed
        spans, if the caller has them already)."""
        if unseen is None:
            unseen = closed((*self.sup.tracker.blind_spans(), *self.sup.gaps), now)
        today = now.astimezone(terms.tz).date()
        began = self.sup.tracker.first_seen(terms.circuit) or now
        outages = closed(incidents, now)
        windows = maintenance_spans(terms.maintenance)
        out: list[tuple[date, float | None]] = []
        for back in range(29, -1, -1):
            day = today - timedelta(days=back)
            lo = max(datetime.combine(day, datetime.min.time(), terms.tz), began)
            hi = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), terms.tz), now)
            ratio = measure(lo, hi, outages=outages, maintenance=windows, unseen=unseen)
            value = ratio.availability
            out.append((day, None if value is None else float(value)))
        return tuple(out)

    def healthy(self) -> tuple[bool, str]:
        last = self.sup.last_probe
        if last is None:
            return True, "starting: no probe result yet"
        age = self._wall() - last
        if age > STALE_PROBES:
            return False, f"no probe result for {age.total_seconds():.0f} s"
        return True, f"last probe result {age.total_seconds():.1f} s ago"
