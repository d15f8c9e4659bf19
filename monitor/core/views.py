"""JSON-ready views of the core's figures, shared by replay, the HTTP API and reports, so that
every surface prints the same fields in the same form.

Times are ISO 8601 with the circuit's UTC offset; fractions are exact reduced strings.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from monitor.core.assess import Assessment
from monitor.core.report import MonthReport
from monitor.core.sla import MonthTotal, fraction_text


def iso(at: datetime | None, tz: tzinfo) -> str | None:
    """ISO 8601 in ``tz`` (seconds, or microseconds when present); None stays None."""
    if at is None:
        return None
    return at.astimezone(tz).isoformat()


def incident_view(a: Assessment, tz: tzinfo) -> dict[str, Any]:
    """The incident fields of ``slawatch replay`` (and of the API, which adds id/gaps)."""
    i = a.incident
    return {
        "circuit": i.circuit,
        "start": iso(i.start, tz),
        "end": iso(i.end, tz),
        "detected": iso(i.detected, tz),
        "duration_s": a.duration_s,
        "counted_s": a.counted_s,
        "credit": fraction_text(a.credit),
        "notify_deadline": iso(a.notify_deadline, tz),
        "notified": iso(i.notified, tz),
        "notify_breach": a.notify_breach,
        "month": a.month,
        "claim_by": a.claim_by.isoformat() if a.claim_by else None,
        "blind_s": a.blind_s,
        "tier": str(a.tier),
        "notify_credit": fraction_text(a.notify_credit),
        "notify_claim_by": a.notify_claim_by.isoformat() if a.notify_claim_by else None,
        "maintenance_s": a.maintenance_s,
        "excluded": i.excluded,
    }


def month_view(m: MonthTotal) -> dict[str, Any]:
    """One circuit-month row: fee, capped credit as a fraction and in yen (rounded down)."""
    return {
        "circuit": m.circuit,
        "month": m.month,
        "fee_yen": m.fee_yen,
        "credit": fraction_text(m.credit),
        "credit_yen": m.credit_yen,
        "uncapped": fraction_text(m.uncapped),
    }


def stored_incident_view(a: Assessment, tz: tzinfo) -> dict[str, Any]:
    """An incident of the journal as the API shows it: ``id``, the replay's fields, ``gaps``."""
    return {
        "id": a.incident.id,
        **incident_view(a, tz),
        "gaps": [{"start": iso(g.start, tz), "end": iso(g.end, tz)} for g in a.gaps],
        "single_vantage": a.incident.single_vantage,
    }


def sla_view(report: MonthReport) -> dict[str, Any]:
    """``GET /api/sla``: per circuit the month's capped credit, and every incident listed in
    the month (oldest first, across circuits)."""
    entries = sorted(
        ((e, c.tz) for c in report.circuits for e in c.entries),
        key=lambda pair: (pair[0].incident.start, pair[0].incident.id),
    )
    return {
        "month": report.month,
        "circuits": [month_view(c.total) for c in report.circuits],
        "incidents": [stored_incident_view(e.assessment, tz) for e, tz in entries],
    }
