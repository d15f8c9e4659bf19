"""An incident's SLA figures at a given ``now`` (SLA.md §2-4, §6.3-6.7), and month totals.

This is the one place that turns an :class:`Incident` into the numbers customers see, so the
replay, the API, the report and the metrics cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from fractions import Fraction

from monitor.core import sla
from monitor.core.model import Interval, MaintenanceWindow
from monitor.core.tracker import Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitTerms:
    """The contract facts the arithmetic needs: fee in yen, timezone, maintenance."""

    circuit: str
    fee_yen: int
    tz: tzinfo
    maintenance: tuple[MaintenanceWindow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """An incident's figures. Durations in seconds; an open incident is measured to ``now``.

    ``credit`` is the outage credit of §2 (0 if excluded); ``notify_credit`` is the 1/30 of §3
    for a breach (0 if excluded). ``month`` is the month of the start, ``notify_month`` that of
    detection, both in the circuit's timezone. Claim dates are local dates."""

    incident: Incident
    duration_s: float
    counted_s: float
    maintenance_s: float
    blind_s: float
    gap_s: float
    tier: sla.Tier
    credit: Fraction
    notify_deadline: datetime | None
    notify_breach: bool
    notify_credit: Fraction
    month: str
    notify_month: str
    claim_by: date | None
    notify_claim_by: date | None
    gaps: tuple[Interval, ...] = ()

    @property
    def open(self) -> bool:
        return self.incident.end is None


def _seconds(d: timedelta) -> float:
    return d.total_seconds()


def assess(
    incident: Incident,
    terms: CircuitTerms,
    *,
    now: datetime,
    blind: Sequence[Interval] = (),
    gaps: Sequence[Interval] = (),
) -> Assessment:
    """Figures for ``incident`` as of ``now`` (aware). ``blind`` and ``gaps`` are the monitor's
    blind and unmonitored intervals (an open one extends to ``now``)."""
    end = incident.end if incident.end is not None else max(now, incident.start)
    counted = sla.counted_duration(incident.start, end, terms.maintenance)
    tier, credit = sla.tier_of(counted)
    deadline = sla.notify_deadline(incident.detected, incident.end, terms.maintenance)
    breach = sla.notify_breach(deadline, incident.notified, now)
    excluded = incident.excluded is not None
    return Assessment(
        incident=incident,
        duration_s=_seconds(end - incident.start),
        counted_s=_seconds(counted),
        maintenance_s=_seconds((end - incident.start) - counted),
        blind_s=_seconds(_overlap(incident.start, end, blind, now)),
        gap_s=_seconds(_overlap(incident.start, end, gaps, now)),
        tier=tier,
        credit=Fraction(0) if excluded else credit,
        notify_deadline=deadline,
        notify_breach=breach,
        notify_credit=sla.NOTIFY_BREACH_CREDIT if breach and not excluded else Fraction(0),
        month=sla.month_of(incident.start, terms.tz),
        notify_month=sla.month_of(incident.detected, terms.tz),
        claim_by=None if incident.end is None else sla.claim_by(incident.end, terms.tz),
        notify_claim_by=sla.claim_by(deadline, terms.tz) if breach and deadline else None,
        gaps=tuple(g for g in gaps if _overlap(incident.start, end, (g,), now) > timedelta(0)),
    )


def _overlap(start: datetime, end: datetime, spans: Iterable[Interval], now: datetime) -> timedelta:
    return sum(
        (
            s.overlap(start, end)
            if s.end is not None
            else Interval(start=s.start, end=max(now, s.start)).overlap(start, end)
            for s in spans
        ),
        timedelta(0),
    )


def month_totals(
    assessments: Iterable[Assessment], terms: dict[str, CircuitTerms]
) -> list[sla.MonthTotal]:
    """One row per circuit and month that has an incident (an outage started, or a breach
    detected, in it), credit capped at the fee and rounded down to yen. Sorted."""
    parts: dict[tuple[str, str], list[Fraction]] = defaultdict(list)
    for a in assessments:
        circuit = a.incident.circuit
        parts[(circuit, a.month)].append(a.credit)
        if a.notify_credit:
            parts[(circuit, a.notify_month)].append(a.notify_credit)
    return [
        sla.MonthTotal.of(circuit=c, month=m, fee_yen=terms[c].fee_yen, parts=fractions)
        for (c, m), fractions in sorted(parts.items())
    ]
