"""CSV: one row per incident listed in a month, with its circuit's month figures repeated,
and one row (incident fields empty) for a circuit with none. For spreadsheets and billing.

Values are written as the JSON output writes them (ISO times with the circuit's offset, exact
fractions, seconds as floats, ``true``/``false``), so a figure reads the same in every
format, except that operator text is made safe for a spreadsheet: controls and bidi
characters as in the other formats (report/cells.py ``clean``), and a cell that would start
a formula (``=``, ``+``, ``-``, ``@``) and is not a number is prefixed with ``'`` (OWASP's
advice against CSV injection). Header names are the JSON field names; the circuit's month
figures are prefixed ``month_``, the incident's id and own month are ``incident`` and
``incident_month``. Language-neutral (``--lang`` does not apply). UTF-8, CRLF line ends
(RFC 4180).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from monitor.core.report import MonthReport
from monitor.report.cells import clean
from monitor.report.json_out import month_object

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?(/[0-9]+)?")

CIRCUIT_FIELDS = (
    ("month", "month"),
    ("circuit", "circuit"),
    ("timezone", "timezone"),
    ("fee_yen", "fee_yen"),
    ("month_credit", "credit"),
    ("month_credit_yen", "credit_yen"),
    ("month_uncapped", "uncapped"),
    ("month_capped", "capped"),
    ("month_availability_pct", "availability_pct"),
    ("month_unavailable_s", "unavailable_s"),
    ("month_maintenance_s", "maintenance_s"),
    ("month_unmonitored_s", "unmonitored_s"),
)
INCIDENT_FIELDS = (
    ("incident", "id"),
    ("incident_month", "month"),
    *(
        (f, f)
        for f in (
            "start",
            "end",
            "detected",
            "duration_s",
            "counted_s",
            "maintenance_s",
            "blind_s",
            "tier",
            "credit",
            "notify_deadline",
            "notified",
            "notify_breach",
            "notify_credit",
            "excluded",
            "claim_by",
            "notify_claim_by",
        )
    ),
)
HEADER = (
    *(name for name, _ in CIRCUIT_FIELDS),
    *(name for name, _ in INCIDENT_FIELDS),
    "claim_status",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = clean(str(value))
    if text.startswith(("=", "+", "-", "@")) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _status(claims: list[dict[str, Any]], incident: int) -> str:
    """``expired``, ``expiring``, ``open`` (not claimable yet), ``ok``, or empty: the most
    urgent state among the incident's claims in this month."""
    mine = [c for c in claims if c["incident"] == incident]
    for state in ("expired", "expiring"):
        if any(c[state] for c in mine):
            return state
    if any(c["claim_by"] is None for c in mine):
        return "open"
    return "ok" if mine else ""


def part(r: MonthReport) -> str:
    """One month's rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    data = month_object(r)
    by_circuit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in data["incidents"]:
        by_circuit[i["circuit"]].append(i)
    for row in data["circuits"]:
        lead = [_cell(row[key]) for _, key in CIRCUIT_FIELDS]
        mine = by_circuit.get(row["circuit"], [])
        if not mine:
            writer.writerow(lead + [""] * (len(INCIDENT_FIELDS) + 1))
        for i in mine:
            writer.writerow(
                lead
                + [_cell(i[key]) for _, key in INCIDENT_FIELDS]
                + [_status(row["claims"], i["id"])]
            )
    return out.getvalue()


def assemble(parts: Sequence[str]) -> list[str]:
    """The header row, then the months' rows in order (pieces to write one after the
    other)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(HEADER)
    return [out.getvalue(), *parts]
