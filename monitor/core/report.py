"""A circuit's month, as a report shows it: the figures behind ``slawatch report`` and
``GET /api/sla`` (one function, so the two cannot disagree).

Pure: incidents, terms, blind and unmonitored intervals, maintenance and ``now`` come in as
arguments; frozen values come out. Every SLA figure comes from :func:`assess.assess` and
:func:`assess.month_totals`'s rule (the total is the same sum, capped and rounded by
:class:`sla.MonthTotal`); this module only decides what belongs to the month and adds what
the SLA does not define.

What counts in a month (SLA.md §6.6)
------------------------------------
An incident's outage credit belongs to the month its outage started in; a notification
breach belongs to the month of detection. An incident is *listed* in month M when it started
in M, or when its notification breach was detected in M (then only the breach credit is M's).
The month is the circuit's calendar month in its own timezone.

Availability (SLA.md §6.8; no credit depends on it)
-----------------------------------------------------
    availability = 1 - unavailable / service time

measured over ``[max(month start, the circuit's first probe result), min(month end, now))``:

- *service time*: the span less announced maintenance (each window from its announcement,
  overlaps counted once) and less *unmonitored* time: unmonitored gaps (the daemon was not
  running) and blind intervals (§6.5), which the monitor saw neither up nor down, whether or
  not an outage covers them.
- *unavailable*: the union of every outage of the circuit (an open outage up to ``now``),
  excluded incidents included (an exclusion decides who pays, not whether the circuit
  worked), **inside the service time**: an outage's part in maintenance, in a gap or in blind
  time is neither unavailable nor service time. An outage across a month boundary counts in
  each month for its part in it, though its credit belongs to the month it started in.
  Availability alone leaves gaps and blind time out: an outage's own duration, and so its
  credit, still runs through them (``blind_s`` and ``gaps`` are reported beside it, §6.3).
- None ("no data", never 100 %) when no service time has passed: a future month, a month all
  maintenance, a circuit that has had no probe result yet.

Claim deadlines (§4, §6.7)
--------------------------
Each non-zero credit of the month is a :class:`Claim` with its last day to claim (None while
its outage is open: it cannot be claimed yet). It is ``expiring`` from 30 days before that day
through the day itself and ``expired`` after it, counted in the circuit's local dates. Its
``share_yen`` is its part of the month's **capped** total in whole yen (§4): the capped total
is split in proportion to the claims' credits, rounded down, and the yen left by rounding go
to the largest remainders (ties: the earlier claim), so the shares add up to the total.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction

from monitor.core import intervals, sla
from monitor.core.assess import Assessment, CircuitTerms, assess
from monitor.core.availability import measure
from monitor.core.bounds import check_year
from monitor.core.errors import InputError
from monitor.core.events import REMOVED
from monitor.core.intervals import Span
from monitor.core.model import Announced, Interval, Withdrawal
from monitor.core.tracker import Incident

EXPIRING_WITHIN = timedelta(days=30)
"""A claim is flagged ``expiring`` this long before its last day (the day itself included)."""

MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")

_NOTHING = Fraction(0)
_FOREVER = datetime.max.replace(tzinfo=UTC)


class ClaimKind(StrEnum):
    """Which credit of an incident a claim is for."""

    OUTAGE = "outage"  # §2, by the tier of the counted duration
    NOTIFY = "notify"  # §3, the 1/30 of a missed fault notification


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One credit to claim. ``claim_by`` is a local date (None while the outage is open);
    ``days_left`` counts from ``now``'s local date (negative once expired)."""

    incident: int
    kind: ClaimKind
    credit: Fraction
    claim_by: date | None
    days_left: int | None
    expiring: bool
    expired: bool
    share_yen: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """An incident listed in the month: its figures, the part of its credit that is this
    month's (``month_credit``, before the cap) and its claims."""

    assessment: Assessment
    month_credit: Fraction
    claims: tuple[Claim, ...]

    @property
    def incident(self) -> Incident:
        return self.assessment.incident


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitMonth:
    """One circuit's month. Times aware UTC; ``start``/``end`` are the local month's bounds,
    ``measured_from``/``measured_to`` the part measured for availability (from the month's
    start or the circuit's first probe result, to its end or ``now``).

    ``outages`` are the outages that touch ``[start, measured_to)``, whole (``end`` None while
    open), whether or not they count in the month; ``unmonitored`` the time taken out of the
    service time for it (gaps and blind time outside maintenance, inside outages too);
    ``maintenance`` the windows touching the month, whole, with their notes; ``withdrawn``
    the exclusions withdrawn of the incidents listed, oldest first. Seconds are over
    the measured span: ``service_s`` = span - ``maintenance_s`` - ``unmonitored_s``, and
    ``unavailable_s`` is outage time inside the service time."""

    circuit: str
    month: str
    tz: tzinfo
    fee_yen: int
    static_nat_fee_yen: int
    start: datetime
    end: datetime
    measured_from: datetime
    measured_to: datetime
    entries: tuple[Entry, ...]
    total: sla.MonthTotal
    unavailable_s: float
    maintenance_s: float
    unmonitored_s: float
    service_s: float
    availability: Fraction | None
    outages: tuple[Interval, ...]
    unmonitored: tuple[Interval, ...]
    maintenance: tuple[Announced, ...]
    withdrawn: tuple[Withdrawal, ...] = ()

    @property
    def exclusions(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.incident.excluded is not None)

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(c for e in self.entries for c in e.claims)

    @property
    def capped(self) -> bool:
        return self.total.uncapped > self.total.credit


class SourceKind(StrEnum):
    """What a report's figures were made from."""

    JOURNAL = "journal"
    EVENTS = "events"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """The record a report was made from (for its footer): a journal or an events file,
    named by its file name."""

    kind: SourceKind
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthReport:
    """Every requested circuit's ``month`` as of ``now`` (aware); ``source`` says what the
    figures were made from, for the report's footer (None: not said, as for the API)."""

    month: str
    now: datetime
    circuits: tuple[CircuitMonth, ...]
    source: Source | None = None


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-10"`` -> ``(2026, 10)``, ASCII digits, the year within core/bounds.py's;
    InputError otherwise."""
    m = MONTH.fullmatch(text)
    if m is None:
        raise InputError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-10")
    return check_year(int(m.group(1))), int(m.group(2))


def month_span(month: str, tz: tzinfo) -> Span:
    """The local calendar month ``[first 00:00, next first 00:00)`` in ``tz``, as UTC."""
    year, mon = parse_month(month)
    first = datetime(year, mon, 1, tzinfo=tz)
    nxt = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return first.astimezone(UTC), nxt.astimezone(UTC)


def fetch_span(month: str) -> Span:
    """A UTC span wide enough to hold ``month`` in any timezone (±2 days): what to ask a
    journal for, as incidents overlapping it."""
    year, mon = parse_month(month)
    first = datetime(year, mon, 1, tzinfo=UTC)
    nxt = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
    return first - timedelta(days=2), nxt + timedelta(days=2)


def month_report(
    month: str,
    *,
    incidents: Iterable[Incident],
    terms: Mapping[str, CircuitTerms],
    now: datetime,
    blind: Sequence[Interval] = (),
    gaps: Sequence[Interval] = (),
    announced: Iterable[Announced] = (),
    circuits: Sequence[str] | None = None,
    first_seen: Mapping[str, datetime] | None = None,
    source: Source | None = None,
    withdrawn: Iterable[Withdrawal] = (),
) -> MonthReport:
    """The month of every circuit in ``terms`` (a retired one only up to the month its
    monitoring ended), or of ``circuits``, in that order.

    ``terms`` carry the configured maintenance; ``announced`` adds windows from elsewhere
    (the journal), as the daemon does. ``incidents`` may hold any incidents: those that
    neither touch the month nor count in it are ignored, as are unknown circuits.
    ``first_seen`` holds each circuit's first probe result: service time starts there
    (a circuit missing from it has none yet). ``withdrawn``: exclusions withdrawn (any;
    each month shows those of its listed incidents)."""
    parse_month(month)
    by_circuit: dict[str, list[Incident]] = defaultdict(list)
    for i in incidents:
        by_circuit[i.circuit].append(i)
    undone: dict[int, list[Withdrawal]] = defaultdict(list)
    for w in withdrawn:
        undone[w.incident].append(w)
    extra: dict[str, list[Announced]] = defaultdict(list)
    for a in announced:
        extra[a.circuit].append(a)
    wanted = [c for c in terms if _in_service(terms[c], month)] if circuits is None else circuits
    seen = first_seen or {}
    months = (
        _circuit_month(
            month,
            terms[c],
            by_circuit.get(c, []),
            extra.get(c, []),
            _Seen(now=now, first=seen.get(c), blind=blind, gaps=gaps),
        )
        for c in wanted
    )
    return MonthReport(
        month=month,
        now=now,
        source=source,
        circuits=tuple(_with_withdrawn(m, undone) if undone else m for m in months),
    )


def _with_withdrawn(m: CircuitMonth, undone: Mapping[int, list[Withdrawal]]) -> CircuitMonth:
    """``m`` with the exclusions withdrawn of its listed incidents, oldest first."""
    mine = (w for e in m.entries for w in undone.get(e.incident.id, ()))
    return replace(m, withdrawn=tuple(sorted(mine, key=lambda w: w.at)))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Seen:
    """What the monitor saw of a circuit: as of ``now``, since ``first`` (its first probe
    result, None: never), with the monitor's blind and unmonitored intervals."""

    now: datetime
    first: datetime | None
    blind: Sequence[Interval]
    gaps: Sequence[Interval]


def _circuit_month(
    month: str, base: CircuitTerms, incidents: list[Incident], extra: list[Announced], seen: _Seen
) -> CircuitMonth:
    windows = (
        *(Announced(circuit=base.circuit, window=w) for w in base.maintenance),
        *extra,
    )
    terms = replace(base, maintenance=tuple(a.window for a in windows))
    start, end = month_span(month, terms.tz)
    until = seen.now if terms.retired_at is None else min(seen.now, terms.retired_at)
    stop = min(end, max(until, start))
    since = stop if seen.first is None else min(max(seen.first, start), stop)
    incidents = sorted((_retire(i, terms) for i in incidents if _touches(i, start, end)),
                       key=_order)  # fmt: skip
    listed = [a for a in _assessed(incidents, terms, seen) if _listed(a, month)]
    credits = [_credits(a, month) for a in listed]
    parts = [_part(c) for c in credits]
    # month_totals()'s row for this month, summed from the parts already split by month
    total = sla.MonthTotal.of(
        circuit=terms.circuit, month=month, fee_yen=terms.fee_yen, parts=parts
    )
    today = seen.now.astimezone(terms.tz).date()
    shares = iter(sla.shares_yen([credit for c in credits for _, credit, _ in c], total))
    entries = tuple(
        Entry(
            assessment=a,
            month_credit=part,
            claims=tuple(_claim(a.incident.id, *c, today, next(shares)) for c in claims),
        )
        for a, claims, part in zip(listed, credits, parts, strict=True)
    )
    measured = measure(
        since,
        stop,
        outages=intervals.closed(incidents, seen.now),
        maintenance=sla.maintenance_spans(terms.maintenance),
        unseen=intervals.closed((*seen.blind, *seen.gaps), seen.now),
    )
    return CircuitMonth(
        circuit=terms.circuit,
        month=month,
        tz=terms.tz,
        fee_yen=terms.fee_yen,
        static_nat_fee_yen=terms.static_nat_fee_yen,
        start=start,
        end=end,
        measured_from=since,
        measured_to=stop,
        entries=entries,
        total=total,
        unavailable_s=measured.unavailable.total_seconds(),
        maintenance_s=measured.maintenance.total_seconds(),
        unmonitored_s=measured.unmonitored_time.total_seconds(),
        service_s=measured.service.total_seconds(),
        availability=measured.availability,
        outages=tuple(
            Interval(start=i.start, end=i.end)
            for i in incidents
            if i.start < stop and (i.end is None or i.end > start)
        ),
        unmonitored=tuple(Interval(start=lo, end=hi) for lo, hi in measured.unmonitored),
        maintenance=tuple(
            sorted(
                (a for a in windows if a.window.start < end and a.window.end > start),
                key=lambda a: (a.window.start, a.window.end),
            )
        ),
    )


def _retire(incident: Incident, terms: CircuitTerms) -> Incident:
    """``incident``, closed when its circuit's monitoring ended if it is still open in the
    journal (the daemon has not run since the circuit left ``circuits:``): as the daemon
    closes it (restore.py), never grown to "now", months after the circuit was retired."""
    if terms.retired_at is None or incident.end is not None:
        return incident
    return replace(incident, end=max(terms.retired_at, incident.start), closed_reason=REMOVED)


def _in_service(terms: CircuitTerms, month: str) -> bool:
    """Whether a circuit belongs in ``month``'s report: any configured one; a retired one
    until the month in which its monitoring ended."""
    return terms.retired_at is None or terms.retired_at > month_span(month, terms.tz)[0]


def _assessed(incidents: list[Incident], terms: CircuitTerms, seen: _Seen) -> list[Assessment]:
    """Every incident assessed as of ``seen.now``.

    assess() needs only the spans that reach its incidents; passing just those is exact and
    keeps a year of a thousand circuits fast. A window ending before the first start, or
    starting after the last end of closed incidents, cannot count, hold a detection, or
    extend (by adjoining it) a window that matters; an open incident keeps every later one."""
    if not incidents:
        return []
    lo = min(i.start for i in incidents)
    hi = max(i.end or _FOREVER for i in incidents)
    near = replace(
        terms, maintenance=tuple(w for w in terms.maintenance if w.end > lo and w.start < hi)
    )
    blind = [s for s in seen.blind if (s.end is None or s.end > lo) and s.start < hi]
    lead = lo - terms.lead_in  # a gap just before an outage's start is beside it
    gaps = [s for s in seen.gaps if (s.end is None or s.end >= lead) and s.start < hi]
    return [assess(i, near, now=seen.now, blind=blind, gaps=gaps) for i in incidents]


def _order(i: Incident) -> tuple[datetime, int]:
    return i.start, i.id


def _touches(i: Incident, start: datetime, end: datetime) -> bool:
    """Whether ``i`` overlaps ``[start, end)`` or started or was detected in it."""
    overlaps = i.start < end and (i.end is None or i.end > start)
    return overlaps or start <= i.start < end or start <= i.detected < end


def _listed(a: Assessment, month: str) -> bool:
    return a.month == month or (a.notify_breach and a.notify_month == month)


def _credits(a: Assessment, month: str) -> list[tuple[ClaimKind, Fraction, date | None]]:
    """The month's part of ``a``'s credit, as claims (kind, credit, last day): the outage
    credit if it started in the month, the notification credit if detected in it
    (month_totals() splits them the same way)."""
    claims = []
    if a.month == month and a.credit:
        claims.append((ClaimKind.OUTAGE, a.credit, a.claim_by))
    if a.notify_month == month and a.notify_credit:
        claims.append((ClaimKind.NOTIFY, a.notify_credit, a.notify_claim_by))
    return claims


def _part(claims: list[tuple[ClaimKind, Fraction, date | None]]) -> Fraction:
    if len(claims) == 1:
        return claims[0][1]
    return sum((credit for _, credit, _ in claims), _NOTHING)


def _claim(
    incident: int,
    kind: ClaimKind,
    credit: Fraction,
    claim_by: date | None,
    today: date,
    share_yen: int,
) -> Claim:
    left = None if claim_by is None else (claim_by - today).days
    return Claim(
        incident=incident,
        kind=kind,
        credit=credit,
        claim_by=claim_by,
        days_left=left,
        expiring=left is not None and 0 <= left <= EXPIRING_WITHIN.days,
        expired=left is not None and left < 0,
        share_yen=share_yen,
    )
