"""Replay recorded events (JSON lines) through the core: the audit path of every figure.

Input, one JSON object a line, in time order (see README "Replay"): ``probe``, ``control``,
``notified`` and ``end`` events, and an operator's ``excluded`` (Article 8 §2) and
``exclusion_withdrawn``, each naming its incident by circuit and start. "Now" is the last
event's time. A malformed line stops the replay with an InputError naming the line and the
problem; so does an exclusion of an incident that is not there or already excluded, and a
withdrawal of one not excluded (as the journal refuses them). Pure: lines in, values out
(the ``replay`` and ``report --events`` commands read the file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from monitor.core.assess import assess, month_totals
from monitor.core.errors import InputError, MonitorError
from monitor.core.model import PathKey, Withdrawal
from monitor.core.plan import Plan
from monitor.core.times import parse_instant
from monitor.core.tracker import Incident, IncidentClosed, IncidentNotified, IncidentOpened, Tracker
from monitor.core.views import incident_view, month_view

KINDS = ("probe", "control", "notified", "excluded", "exclusion_withdrawn", "end")


@dataclass(slots=True)
class ReplayResult:
    tracker: Tracker
    incidents: dict[int, Incident]
    now: datetime | None
    withdrawals: list[Withdrawal] = field(default_factory=list)
    """Exclusions withdrawn, in order."""
    excluded_at: dict[int, datetime] = field(default_factory=dict)
    """When each incident excluded now was excluded (a withdrawal keeps it)."""

    @property
    def first_seen(self) -> dict[str, datetime]:
        """Each circuit's first probe event (§6.8)."""
        seen = {c: self.tracker.first_seen(c) for c in self.tracker.circuit_ids}
        return {c: at for c, at in seen.items() if at is not None}


def _field(obj: dict[str, Any], name: str, kind: type) -> Any:
    if name not in obj:
        raise InputError(f"missing field {name!r}")
    value = obj[name]
    if not isinstance(value, kind) or (kind is str and not value):
        raise InputError(f"field {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def _time(obj: dict[str, Any]) -> datetime:
    return parse_instant(_field(obj, "t", str), "field 't'").astimezone(UTC)


FIELDS = {
    "probe": frozenset({"t", "kind", "circuit", "path", "ok"}),
    "control": frozenset({"t", "kind", "target", "ok"}),
    "notified": frozenset({"t", "kind", "circuit"}),
    "excluded": frozenset({"t", "kind", "circuit", "start", "reason"}),
    "exclusion_withdrawn": frozenset({"t", "kind", "circuit", "start", "reason"}),
    "end": frozenset({"t", "kind"}),
}
"""The fields each kind of event takes: any other is refused (a misspelt ``ok`` must not
leave a result unread)."""


class _Twice(Exception):
    """A key given twice in one object (json.loads would keep the last, silently)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Twice(key)
        out[key] = value
    return out


def _apply(result: ReplayResult, obj: dict[str, Any], at: datetime) -> tuple[object, ...]:
    tracker, kind = result.tracker, obj.get("kind")
    extra = sorted(set(obj) - FIELDS.get(kind, set(obj))) if isinstance(kind, str) else []
    if extra:
        takes = ", ".join(sorted(FIELDS[str(kind)]))
        raise InputError(f"field {extra[0]!r} is not one a {kind} event takes ({takes})")
    if kind in ("excluded", "exclusion_withdrawn"):
        _operator(result, obj, at, withdraw=kind == "exclusion_withdrawn")
        return ()
    if kind == "probe":
        path = PathKey.parse(_field(obj, "circuit", str), _field(obj, "path", str))
        return tracker.observe(path, at, _field(obj, "ok", bool))
    if kind == "control":
        return tracker.observe_control(_field(obj, "target", str), at, _field(obj, "ok", bool))
    if kind == "notified":
        return tracker.notified(_field(obj, "circuit", str), at)
    if kind == "end":
        return ()
    raise InputError(f"field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")


def _operator(result: ReplayResult, obj: dict[str, Any], at: datetime, *, withdraw: bool) -> None:
    """An ``excluded`` or ``exclusion_withdrawn`` event: the incident of ``circuit`` that
    started at ``start`` excluded, or its exclusion withdrawn (a Withdrawal kept)."""
    circuit = _field(obj, "circuit", str)
    start = parse_instant(_field(obj, "start", str), "field 'start'").astimezone(UTC)
    reason = _field(obj, "reason", str).strip()
    if not reason:
        raise InputError("field 'reason' must say why")
    found = [i for i in result.incidents.values() if i.circuit == circuit and i.start == start]
    if not found:
        raise InputError(f"no incident of {circuit} started at {obj['start']}")
    [incident] = found
    if not withdraw and incident.excluded is not None:
        raise InputError(f"the incident is already excluded ({incident.excluded!r})")
    if withdraw and incident.excluded is None:
        raise InputError("the incident is not excluded; nothing to withdraw")
    if withdraw:
        result.withdrawals.append(Withdrawal(
            incident=incident.id, circuit=circuit, excluded=incident.excluded or "",
            excluded_at=result.excluded_at.pop(incident.id, None), reason=reason, at=at,
        ))  # fmt: skip
    else:
        result.excluded_at[incident.id] = at
    updated = replace(incident, excluded=None if withdraw else reason)
    result.incidents[incident.id] = updated
    result.tracker.excluded(updated)  # its later events (the close) carry it


def _decode(line: str) -> Any:
    """The line's JSON value; InputError for what is not JSON, or not JSON this replay takes
    (nested past the interpreter's recursion limit, a number of more digits than ``int``
    reads: the API refuses both with 400)."""
    try:
        return json.loads(line, object_pairs_hook=_unique)
    except _Twice as exc:
        raise InputError(f"field {exc.args[0]!r} given twice; give it once") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InputError("not JSON replay takes: nested too deeply") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) ...; use sys.set_int_..."
        raise InputError(f"not JSON replay takes: {str(exc).split(';')[0]}") from None


def run(plan: Plan, lines: Iterable[str]) -> ReplayResult:
    """Feed every line through a fresh tracker; raise InputError("line N: ...") on bad input."""
    tracker = Tracker(
        [plan.spec(c) for c in plan.circuits],
        controls=[t.name for t in plan.controls],
        fail_after=plan.fail_after,
        recover_after=plan.recover_after,
    )
    result = ReplayResult(tracker=tracker, incidents={}, now=None)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = _decode(line)
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object")
            at = _time(obj)
            if result.now is not None and at < result.now:
                raise InputError(
                    f"time {obj['t']} goes back before the previous event; "
                    "events must be in time order"
                )
            result.now = at
            for event in _apply(result, obj, at):
                if isinstance(event, IncidentOpened | IncidentClosed | IncidentNotified):
                    result.incidents[event.incident.id] = event.incident
        except MonitorError as exc:
            raise InputError(f"line {number}: {exc}") from None
    return result


def summary(plan: Plan, result: ReplayResult) -> dict[str, Any]:
    """The replay's JSON output: every incident's figures and the month totals."""
    terms = {c.id: c.terms for c in plan.circuits}
    now = result.now
    if now is None:
        return {"incidents": [], "months": []}
    assessed = [
        assess(i, terms[i.circuit], now=now, blind=result.tracker.blind_spans())
        for i in sorted(result.incidents.values(), key=lambda i: (i.start, i.id))
    ]
    return {
        "incidents": [incident_view(a, terms[a.incident.circuit].tz) for a in assessed],
        "months": [month_view(m) for m in month_totals(assessed, terms)],
    }
