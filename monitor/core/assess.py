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

from monitor.core import intervals, sla
from monitor.core.model import Interval, MaintenanceWindow
from monitor.core.tracker import Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitTerms:
    """The contract facts the arithmetic needs: the base monthly fee and the static NAT
    option's monthly fee in yen (§3: a missed notice is 1/30 of both), timezone,
    maintenance."""

    circuit: str
    fee_yen: int
    tz: tzinfo
    maintenance: tuple[MaintenanceWindow, ...] = ()
    static_nat_fee_yen: int = 0
    probe_interval_s: float = 0.0
    """How often the circuit's paths are probed (seconds): an outage may have begun up to one
    interval before its first failed probe, so a gap that ended in that interval is reported
    beside it (:func:`gap_beside`)."""
    retired_at: datetime | None = None
    """When monitoring of a retired circuit ended (aware; config ``retired_circuits:``):
    reports count its service time up to here and list it in no later month."""

    @property
    def lead_in(self) -> timedelta:
        """How long before an outage's start a gap may end and still be beside it."""
        return timedelta(seconds=max(self.probe_interval_s, 0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """An incident's figures. Durations in seconds; an open incident is measured to ``now``.

    ``credit`` is the outage credit of §2 (0 if excluded); ``notify_credit`` is the 1/30 of
    the monthly charges of §3 for a breach (0 if excluded), both as fractions of the base
    fee. A voided outage (§6.2: it ended before it started) has no deadline and no breach.
    ``month`` is the month of the start, ``notify_month`` that of detection, both in the
    circuit's timezone. Claim dates are local dates."""

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


def assess(
    incident: Incident,
    terms: CircuitTerms,
    *,
    now: datetime,
    blind: Sequence[Interval] = (),
    gaps: Sequence[Interval] = (),
) -> Assessment:
    """Figures for ``incident`` as of ``now`` (aware). ``blind`` and ``gaps`` are the monitor's
    blind and unmonitored intervals (an open one extends to ``now``); ``gaps`` of the result
    are those beside the incident (:func:`gap_beside`)."""
    end = incident.end if incident.end is not None else max(now, incident.start)
    spans = sla.maintenance_spans(terms.maintenance) if terms.maintenance else []
    counted = sla.counted_within(incident.start, end, spans)
    tier, credit = sla.tier_of(counted)
    deadline = notify_deadline(incident, terms, spans)
    breach = sla.notify_breach(deadline, incident.notified, now)
    excluded = incident.excluded is not None
    return Assessment(
        incident=incident,
        duration_s=(end - incident.start).total_seconds(),
        counted_s=counted.total_seconds(),
        maintenance_s=((end - incident.start) - counted).total_seconds(),
        blind_s=_seen(incident.start, end, blind, now).total_seconds(),
        gap_s=_seen(incident.start, end, gaps, now).total_seconds(),
        tier=tier,
        credit=Fraction(0) if excluded else credit,
        notify_deadline=deadline,
        notify_breach=breach,
        notify_credit=(
            sla.notify_credit(terms.fee_yen, terms.static_nat_fee_yen)
            if breach and not excluded
            else Fraction(0)
        ),
        month=sla.month_of(incident.start, terms.tz),
        notify_month=sla.month_of(incident.detected, terms.tz),
        claim_by=None if incident.end is None else sla.claim_by(incident.end, terms.tz),
        notify_claim_by=sla.claim_by(deadline, terms.tz) if breach and deadline else None,
        gaps=tuple(g for g in gaps if gap_beside(g, incident.start, end, terms.lead_in, now)),
    )


def notify_deadline(
    incident: Incident, terms: CircuitTerms, spans: Sequence[intervals.Span] | None = None
) -> datetime | None:
    """The incident's notification deadline (§6.4), None when it owes no notice: voided
    (§6.2), or ended inside the maintenance window its detection fell in. The report's and the
    deadline ledger's one answer. ``spans``: ``terms.maintenance`` as
    :func:`sla.maintenance_spans` gave them, if the caller has them already."""
    if incident.voided:
        return None
    if spans is None:
        spans = sla.maintenance_spans(terms.maintenance)
    return sla.deadline_within(incident.detected, incident.end, spans)


def gap_beside(
    gap: Interval, start: datetime, end: datetime, lead_in: timedelta, now: datetime
) -> bool:
    """Whether an unmonitored gap is reported beside the outage ``[start, end)``: it covers
    part of it (``gap_s``), or it ended at most ``lead_in`` (one probe interval) before the
    start. A path's outage starts at its first failed probe; after a gap that probe is the
    first one sent, so the outage may have begun in the gap, unseen. The gap's time is not
    counted as down for that (``gap_s`` is only its part inside the outage)."""
    if _seen(start, end, (gap,), now):
        return True
    gap_end = gap.end if gap.end is not None else max(now, gap.start)
    return start - lead_in <= gap_end <= start


def _seen(start: datetime, end: datetime, spans: Sequence[Interval], now: datetime) -> timedelta:
    """How much of ``[start, end)`` the intervals cover (an open one runs to ``now``)."""
    if not spans:  # the monitor saw most outages whole
        return intervals.ZERO
    return intervals.overlap(start, end, intervals.union(intervals.closed(spans, now)))


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
