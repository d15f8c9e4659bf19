"""The web pages' values (``monitor/web/views.py``) from the supervisor's view of now, the
journal and the RTT history; mixed into :class:`~monitor.service.backend.Backend`, whose
supervisor, store, clock and assessment it uses.

The overview reads only memory (the supervisor): it is what a NOC screen of 1,000 circuits
reloads every few seconds. The circuit, incident and month pages read the journal and take
their SLA figures from :func:`monitor.core.report.month_report` and
:func:`monitor.core.assess.assess`, as ``/api/sla`` and ``slawatch report`` do; the month's
downloads are ``slawatch report``'s own renderers.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.assess import Assessment, CircuitTerms
from monitor.core.health import URGENCY, health
from monitor.core.location import journal_name
from monitor.core.model import Announced, PathKey
from monitor.core.plan import PathPlan
from monitor.core.report import MonthReport, Source, SourceKind, fetch_span, month_report
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import Incident
from monitor.report import pdf, render
from monitor.service.rtt_history import RttHistory
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.web.views import (
    CircuitPage,
    Download,
    Evidence,
    IncidentPage,
    OpenIncident,
    Overview,
    OverviewRow,
    PathDetail,
    PathStatus,
    TimelineItem,
    Window,
)

if TYPE_CHECKING:
    from monitor.core.model import Lang

FAR = datetime.max.replace(tzinfo=UTC)
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "pdf": "application/pdf",
}


class PageViews:
    """See the module docstring. The class mixing it in provides these."""

    @property
    def sup(self) -> Supervisor:
        raise NotImplementedError

    history: RttHistory | None
    _store: AsyncStore[Store]
    _printing: asyncio.Semaphore  # one Chromium at a time prints a report
    _wall: Callable[[], datetime]
    _assess: Callable[[Incident, datetime], Assessment]
    _days: Callable[[list[Incident], datetime, CircuitTerms], tuple[tuple[date, float | None], ...]]

    # -- the overview -----------------------------------------------------------------------
    async def overview(self) -> Overview:
        """Every circuit, most urgent first, from memory alone."""
        sup = self.sup
        pending = {c: d for _, c, d in sup.pending()}
        rows = []
        for c in sup.plan.circuits:
            paths = tuple(self._path_status(p.key) for p in c.paths)
            found = sup.tracker.open_incident(c.id)
            incident = None
            if found is not None:
                incident = OpenIncident(
                    id=found.id,
                    start=found.start,
                    detected=found.detected,
                    deadline=pending.get(c.id),
                    notified=found.notified,
                )
            rtts = [p.rtt_ms for p in paths if p.state == "up" and p.rtt_ms is not None]
            rows.append(
                OverviewRow(
                    id=c.id,
                    timezone=str(c.terms.tz),
                    health=health((sup.tracker.path_state(p.key)[0] for p in c.paths), bool(found)),
                    paths=paths,
                    rtt_ms=min(rtts, default=None),
                    incident=incident,
                )
            )
        rows.sort(key=_urgency)
        return Overview(generated_at=self._wall(), blind=sup.tracker.blind, rows=tuple(rows))

    def _path_status(self, key: PathKey) -> PathStatus:
        state, since = self.sup.tracker.path_state(key)
        rtt = self.sup.rtt.get(key)
        return PathStatus(
            router=key.router.value,
            demarc=key.demarc.value,
            state=state.value,
            since=since,
            rtt_ms=None if rtt is None else rtt * 1000,
        )

    # -- a circuit -----------------------------------------------------------------------------
    async def circuit_page(self, circuit: str) -> CircuitPage | None:
        """The circuit now and this (local) month; None if it is not configured."""
        sup = self.sup
        plan = sup.plan.circuit(circuit)
        if plan is None:
            return None
        now = self._wall()
        terms = sup.terms(circuit)
        this = now.astimezone(terms.tz).strftime("%Y-%m")
        report = await self.month(this, [circuit])
        recent = await self._store.run(
            lambda s: s.incidents(circuit, now - timedelta(days=31), None)
        )
        found = sup.tracker.open_incident(circuit)
        month = report.circuits[0]
        return CircuitPage(
            id=circuit,
            timezone=str(terms.tz),
            now=now,
            health=health((sup.tracker.path_state(p.key)[0] for p in plan.paths), bool(found)),
            paths=tuple(self._path_detail(p, now) for p in plan.paths),
            incident=None if found is None else self._open_now(found, now),
            month=month,
            days=self._days(recent, now, terms),
            windows=tuple(
                window_view(a)
                for a in _by_start(sup.windows(circuit))
                if a.window.end > month.start
            ),
        )

    def _path_detail(self, p: PathPlan, now: datetime) -> PathDetail:
        readings = self.sup.snmp.get(p.key, {})
        return PathDetail(
            status=self._path_status(p.key),
            address=p.address,
            probe=p.probe,
            evidence=tuple(
                Evidence(kind=k, ok=r.ok, text=r.text, at=r.at) for k, r in sorted(readings.items())
            ),
            history=() if self.history is None else self.history.series(p.key, now),
        )

    def _open_now(self, i: Incident, now: datetime) -> OpenIncident:
        a = self._assess(i, now)
        return OpenIncident(
            id=i.id,
            start=i.start,
            detected=i.detected,
            deadline=a.notify_deadline,
            notified=i.notified,
        )

    # -- an incident ---------------------------------------------------------------------------
    async def incident_page(self, incident_id: int) -> IncidentPage | None:
        """The incident's figures as of now, its timeline, the windows touching it; None if
        there is no such incident of a configured circuit."""
        found = await self._store.run(lambda s: s.incident(incident_id))
        if found is None or self.sup.plan.circuit(found.circuit) is None:
            return None
        now = self._wall()
        timeline = await self._store.run(lambda s: s.timeline(incident_id, now))
        views = await self._node_views(found, now)
        end = found.end or now
        windows = [
            a
            for a in self.sup.windows(found.circuit)
            if a.window.start < end and a.window.end > found.start
        ]
        return IncidentPage(
            assessment=self._assess(found, now),
            timezone=str(self.sup.terms(found.circuit).tz),
            fee_yen=self.sup.terms(found.circuit).fee_yen,
            now=now,
            timeline=tuple(TimelineItem(at=e.at, kind=e.kind, text=e.text) for e in timeline),
            windows=tuple(window_view(a) for a in _by_start(windows)),
            node_views=tuple((node, tuple(spans)) for node, spans in views.items()),
        )

    async def _node_views(
        self, incident: Incident, now: datetime
    ) -> dict[str, list[tuple[datetime, datetime | None]]]:
        """Two NOC hosts: each one's own view of ``incident`` (store/vantages.py); {} for one."""
        plan = self.sup.plan
        circuit = plan.circuit(incident.circuit)
        if plan.cluster is None or circuit is None:
            return {}
        paths = len(circuit.paths)
        return await self._store.run(lambda s: s.node_views(incident.id, now, paths))

    # -- a month ---------------------------------------------------------------------------------
    async def month(self, month: str, circuits: Sequence[str] | None = None) -> MonthReport:
        """``month``'s report for ``circuits`` (default every one), as ``/api/sla`` and
        ``slawatch report`` make it; unknown circuits are left out."""
        sup = self.sup
        lo, hi = fetch_span(month)
        wanted = None if circuits is None else [c for c in circuits if sup.plan.circuit(c)]
        only = wanted[0] if wanted is not None and len(wanted) == 1 else None
        found = await self._store.run(lambda s: s.incidents(only, lo, hi))
        withdrawn = await self._store.run(lambda s: s.withdrawals())
        name = await self._store.run(lambda s: s.name)
        tracker = sup.tracker
        seen = {c.id: tracker.first_seen(c.id) for c in sup.plan.circuits}
        return month_report(
            month,
            incidents=found,
            terms=sup.all_terms,
            now=self._wall(),
            blind=tracker.blind_spans(),
            gaps=sup.gaps,
            circuits=wanted,
            first_seen={c: at for c, at in seen.items() if at is not None},
            source=Source(kind=SourceKind.JOURNAL, name=journal_name(name)),
            withdrawn=withdrawn,
        )

    async def download(
        self, month: str, fmt: str, lang: Lang, circuits: Sequence[str] | None = None
    ) -> Download:
        """The month's report as ``slawatch report --format FMT`` writes it (csv, json, pdf)."""
        report = await self.month(month, circuits)
        only = f"-{circuits[0]}" if circuits is not None and len(circuits) == 1 else ""
        name = f"slawatch-{month}{only}.{fmt}"
        if fmt == "pdf":
            html = render([report], "html", lang)
            async with self._printing:
                body = await asyncio.to_thread(_print, html)
        else:
            text = render([report], fmt, lang)
            body = (text if text.endswith("\n") else text + "\n").encode()
        return Download(body=body, content_type=TYPES[fmt], filename=name)


def _print(html: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="slawatch-web-") as tmp:
        out = Path(tmp) / "report.pdf"
        pdf.print_pdf(html, out)
        return out.read_bytes()


def window_view(a: Announced) -> Window:
    w = a.window
    return Window(
        id=a.id,
        circuit=a.circuit,
        start=w.start,
        end=w.end,
        note=w.note,
        source=a.source,
        announced_at=w.told,
        recorded_at=a.recorded_at,
        recorded_by=a.recorded_by,
        late=a.late,
    )


def _by_start(windows: list[Announced]) -> list[Announced]:
    return sorted(windows, key=lambda a: (a.window.start, a.window.end))


def _urgency(row: OverviewRow) -> tuple[int, datetime, str]:
    deadline = row.incident.deadline if row.incident and row.incident.deadline else FAR
    return URGENCY[row.health], deadline, row.id
