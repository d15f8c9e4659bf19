"""JSON: ``GET /api/sla``'s object for the month, with the report's additions.

The ``month``, ``circuits`` and ``incidents`` of :func:`views.sla_view` are kept field for
field (so the figures match the API and ``slawatch replay`` byte for byte); each circuit row
gains ``timezone``, the availability figures (``availability`` an exact fraction,
``availability_pct`` rounded down to 3 decimals), ``capped``, the month's ``maintenance`` and
``unmonitored`` intervals, the ``exclusions_withdrawn`` of its incidents and its ``claims``
(each with ``share_yen``, its part of the capped total); the object gains ``as_of`` and
``source``. One month gives an
object, a range of months a list of them. Language-neutral: ``--lang`` does not apply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from monitor.core import sla
from monitor.core.report import CircuitMonth, MonthReport
from monitor.core.views import iso, sla_view
from monitor.report.cells import percent_digits


def _circuit_extras(c: CircuitMonth) -> dict[str, Any]:
    tz = c.tz
    return {
        "timezone": str(tz),
        "static_nat_fee_yen": c.static_nat_fee_yen,
        "availability": None if c.availability is None else str(c.availability),
        "availability_pct": None if c.availability is None else percent_digits(c.availability),
        "unavailable_s": c.unavailable_s,
        "maintenance_s": c.maintenance_s,
        "unmonitored_s": c.unmonitored_s,
        "service_s": c.service_s,
        "capped": c.capped,
        "maintenance": [
            {
                "start": iso(a.window.start, tz),
                "end": iso(a.window.end, tz),
                "note": a.window.note,
                "source": a.source,
                "announced_at": iso(a.window.told, tz),
                "recorded_at": iso(a.recorded_at, tz),
                "recorded_by": a.recorded_by,
                "recorded_late": a.late,
            }
            for a in c.maintenance
        ],
        "unmonitored": [{"start": iso(s.start, tz), "end": iso(s.end, tz)} for s in c.unmonitored],
        "exclusions_withdrawn": [
            {
                "incident": x.incident,
                "excluded": x.excluded,
                "excluded_at": iso(x.excluded_at, tz),
                "reason": x.reason,
                "at": iso(x.at, tz),
            }
            for x in c.withdrawn
        ],
        "claims": [
            {
                "incident": cl.incident,
                "kind": str(cl.kind),
                "credit": sla.fraction_text(cl.credit),
                "credit_yen": sla.yen(c.fee_yen, cl.credit),
                "share_yen": cl.share_yen,
                "claim_by": None if cl.claim_by is None else cl.claim_by.isoformat(),
                "days_left": cl.days_left,
                "expiring": cl.expiring,
                "expired": cl.expired,
            }
            for cl in c.claims
        ],
    }


def month_object(r: MonthReport) -> dict[str, Any]:
    """One month: the API's object plus the report's fields (see the module docstring)."""
    view = sla_view(r)
    return {
        "month": view["month"],
        "as_of": iso(r.now, UTC),
        "source": None if r.source is None else {"kind": str(r.source.kind), "name": r.source.name},
        "circuits": [
            {**row, **_circuit_extras(c)}
            for row, c in zip(view["circuits"], r.circuits, strict=True)
        ],
        "incidents": view["incidents"],
    }


def part(r: MonthReport, *, alone: bool) -> str:
    """One month's object: the whole document when it is ``alone``, else an element of the
    list (indented one level, as ``json.dumps`` of the list would)."""
    text = json.dumps(month_object(r), ensure_ascii=False, indent=2)
    return text if alone else "  " + text.replace("\n", "\n  ")


def assemble(parts: Sequence[str]) -> list[str]:
    """One month: its object; several (or none): a list of them, in order (pieces to write
    one after the other)."""
    if len(parts) == 1:
        return [parts[0], "\n"]
    if not parts:
        return ["[]\n"]
    out = ["[\n"]
    for n, p in enumerate(parts):
        out += [",\n", p] if n else [p]
    return [*out, "\n]\n"]
