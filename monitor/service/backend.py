"""What the HTTP API and the status page read and change, over the daemon and its journal.

Incidents come from the journal (the record of fact) and are assessed here with the
circuit's current terms, so a maintenance window added later changes counted durations
retroactively, as announced suspensions should.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.core.assess import Assessment, CircuitTerms, assess
from monitor.core.availability import measure
from monitor.core.errors import InputError
from monitor.core.intervals import closed
from monitor.core.model import MaintenanceWindow, PathKey
from monitor.core.report import Announced, fetch_span, month_report
from monitor.core.sla import maintenance_spans
from monitor.core.tracker import Incident
from monitor.core.views import iso, sla_view, stored_incident_view
from monitor.store.journal import StoredWindow
from monitor.web_page import (
    CircuitStatus,
    OpenIncident,
    PathStatus,
    StatusView,
    UpcomingWindow,
)

if TYPE_CHECKING:
    from monitor.service.daemon import Daemon

STALE_PROBES = timedelta(seconds=30)
"""/healthz fails when no probe result arrived for this long."""


class DaemonBackend:
    """Implements ``monitor.web.Backend`` over a running :class:`Daemon`."""

    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon

    # -- reading -------------------------------------------------------------------------
    def _assess(self, incident: Incident, now: datetime) -> Assessment:
        terms = self.d.terms[incident.circuit]
        return assess(
            incident, terms, now=now, blind=self.d.tracker.blind_spans(), gaps=self.d.gaps
        )

    def _known(self, circuit: str) -> None:
        if circuit not in self.d.terms:
            raise InputError(f"unknown circuit {circuit!r}; known: {', '.join(self.d.terms)}")

    def _view(self, a: Assessment) -> dict[str, Any]:
        return stored_incident_view(a, self.d.terms[a.incident.circuit].tz)

    async def circuits(self) -> list[dict[str, Any]]:
        d = self.d
        out = []
        for c in d.settings.circuits:
            paths = []
            for p in c.paths:
                key = PathKey(circuit=c.id, router=p.router, demarc=p.demarc)
                state, since = d.tracker.path_state(key)
                rtt = d.live.rtt.get(key)
                paths.append(
                    {
                        "router": p.router.value,
                        "demarc": p.demarc.value,
                        "address": p.address,
                        "state": state.value,
                        "since": iso(since, UTC),
                        "rtt_ms": None if rtt is None else rtt * 1000,
                        "probe": p.probe,
                        "snmp": {
                            kind: {**r, "at": iso(r["at"], UTC)}
                            for kind, r in d.live.snmp.get(key, {}).items()
                        },
                    }
                )
            incident = d.tracker.open_incident(c.id)
            out.append(
                {
                    "id": c.id,
                    "monthly_fee_yen": c.monthly_fee_yen,
                    "timezone": str(d.terms[c.id].tz),
                    "available": incident is None,
                    "open_incident": None if incident is None else incident.id,
                    "paths": paths,
                }
            )
        return out

    async def incidents(
        self, circuit: str | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        if circuit is not None:
            self._known(circuit)
        now = self.d.wall()
        found = await self.d.journal.incidents(circuit, start, end)
        return [self._view(self._assess(i, now)) for i in found if i.circuit in self.d.terms]

    async def incident(self, incident_id: int) -> dict[str, Any] | None:
        found = await self.d.journal.incident(incident_id)
        if found is None or found.circuit not in self.d.terms:
            return None
        now = self.d.wall()
        view = self._view(self._assess(found, now))
        tz = self.d.terms[found.circuit].tz
        view["timeline"] = [
            {"at": iso(e.at, tz), "kind": e.kind, "text": e.text}
            for e in await self.d.journal.timeline(incident_id, now)
        ]
        return view

    async def sla(self, month: str) -> dict[str, Any]:
        """The month's figures from monitor.core.report, the same as ``slawatch report``."""
        lo, hi = fetch_span(month)
        report = month_report(
            month,
            incidents=await self.d.journal.incidents(None, lo, hi),
            terms=self.d.terms,
            now=self.d.wall(),
            blind=self.d.tracker.blind_spans(),
            gaps=self.d.gaps,
            first_seen=self._first_seen(),
        )
        return sla_view(report)

    def _first_seen(self) -> dict[str, datetime]:
        seen = {c: self.d.tracker.first_seen(c) for c in self.d.tracker.circuit_ids}
        return {c: at for c, at in seen.items() if at is not None}

    # -- changing ---------------------------------------------------------------------------
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
        """Record an announced window. ``announced_at`` (when the customer was told) defaults
        to now, the moment it is recorded; an earlier one may be stated, a later one not."""
        self._known(circuit)
        now = self.d.wall()
        told = now if announced_at is None else announced_at
        if told > now:
            raise InputError(
                f"announced_at {told.isoformat()} is in the future: a window counts from when "
                "the customer was told, so record it once they have been",
                "announced_at",
            )
        if told >= end:
            stated = announced_at is not None
            raise InputError(
                f"announced_at {told.isoformat()} is not before end {end.isoformat()}: "
                "a window told of after it ended excludes nothing"
                + (
                    ""
                    if stated
                    else "; if the customer was told earlier, state when "
                    "(announced_at in the API, --announced-at in the CLI)"
                ),
                "announced_at",
            )
        window = MaintenanceWindow(
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
            note=note,
            announced_at=told.astimezone(UTC),
        )
        wid = await self.d.add_maintenance(circuit, window, source, by)
        return self._window(Announced(circuit=circuit, window=window, source=source,
                                      recorded_at=now, recorded_by=by), wid)  # fmt: skip

    def _window(self, a: Announced, wid: int | None = None) -> dict[str, Any]:
        tz = self.d.terms[a.circuit].tz
        w = a.window
        return {
            "id": wid,
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
            self._known(circuit)
        out = [
            self._window(Announced(circuit=c.id, window=m.window()))
            for c in self.d.settings.circuits
            if circuit in (None, c.id)
            for m in c.maintenance
        ]
        out += [
            self._window(_announced(w), w.id)
            for w in await self.d.journal.maintenance(circuit)
            if w.circuit in self.d.terms
        ]
        return sorted(out, key=lambda w: (w["start"], w["circuit"]))

    async def remove_maintenance(self, window_id: int) -> dict[str, Any]:
        found = [w for w in await self.d.journal.maintenance(None) if w.id == window_id]
        if not found:
            raise InputError(
                f"no announced maintenance window {window_id} (configured windows are "
                "changed in the YAML)"
            )
        await self.d.remove_maintenance(window_id)
        return {**self._window(_announced(found[0]), window_id), "removed": True}

    async def exclude(self, incident_id: int, reason: str) -> dict[str, Any]:
        await self.d.journal.exclude(incident_id, reason, self.d.wall())
        found = await self.incident(incident_id)
        if found is None:
            raise InputError(f"no incident {incident_id}")
        return found

    # -- the page ----------------------------------------------------------------------------
    async def status(self) -> StatusView:
        d = self.d
        now = d.wall()
        since = now - timedelta(days=31)
        recent = await d.journal.incidents(None, since, None)
        circuits = []
        for c in await self.circuits():
            terms = d.terms[c["id"]]
            open_i = d.tracker.open_incident(c["id"])
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
                    days=self._days([i for i in recent if i.circuit == c["id"]], now, terms),
                    maintenance=await self._upcoming(c["id"], now),
                )
            )
        return StatusView(generated_at=now, blind=d.tracker.blind, circuits=tuple(circuits))

    async def _upcoming(self, circuit: str, now: datetime) -> tuple[UpcomingWindow, ...]:
        windows = [
            Announced(circuit=circuit, window=m.window())
            for m in self.d.settings.circuit(circuit).maintenance
        ]
        windows += [_announced(w) for w in await self.d.journal.maintenance(circuit)]
        return tuple(
            UpcomingWindow(
                start=a.window.start,
                end=a.window.end,
                note=a.window.note,
                announced_at=a.window.told,
                late=a.late,
            )
            for a in sorted(windows, key=lambda a: a.window.start)
            if a.window.end > now
        )

    def _open(self, i: Incident, now: datetime) -> OpenIncident:
        a = self._assess(i, now)
        return OpenIncident(
            id=i.id,
            start=i.start,
            detected=i.detected,
            deadline=a.notify_deadline,
            notified=i.notified,
        )

    def _days(
        self, incidents: list[Incident], now: datetime, terms: CircuitTerms
    ) -> tuple[tuple[date, float | None], ...]:
        """Availability of each of the last 30 local days, as the report measures a month
        (core/availability.py): None for a day before the circuit's first probe result, or
        with no service time (all maintenance, unmonitored or blind)."""
        today = now.astimezone(terms.tz).date()
        began = self.d.tracker.first_seen(terms.circuit) or now
        outages = closed(incidents, now)
        windows = maintenance_spans(terms.maintenance)
        unseen = closed((*self.d.tracker.blind_spans(), *self.d.gaps), now)
        out: list[tuple[date, float | None]] = []
        for back in range(29, -1, -1):
            day = today - timedelta(days=back)
            lo = max(datetime.combine(day, datetime.min.time(), terms.tz), began)
            hi = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), terms.tz), now)
            ratio = measure(
                lo, hi, outages=outages, maintenance=windows, unseen=unseen
            ).availability
            out.append((day, None if ratio is None else float(ratio)))
        return tuple(out)

    def healthy(self) -> tuple[bool, str]:
        last = self.d.live.last_probe
        if last is None:
            return True, "starting: no probe result yet"
        age = self.d.wall() - last
        if age > STALE_PROBES:
            return False, f"no probe result for {age.total_seconds():.0f} s"
        return True, f"last probe result {age.total_seconds():.1f} s ago"


def _announced(w: StoredWindow) -> Announced:
    return Announced(
        circuit=w.circuit,
        window=w.window,
        source=w.source,
        recorded_at=w.recorded_at,
        recorded_by=w.recorded_by,
    )
