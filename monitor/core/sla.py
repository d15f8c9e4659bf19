"""SLA arithmetic (SLA.md §2-4, §6.3-6.7): tiers, counted time, notification deadline and
breach, month attribution, the monthly cap, yen rounding and claim deadlines.

Plain functions over aware datetimes; ``tz`` arguments are IANA zone objects
(``zoneinfo.ZoneInfo``) for the circuit's timezone, used only where the calendar matters
(month of an outage, the claim date). Money stays an exact ``Fraction`` of the monthly fee
until :func:`yen` rounds down.
"""

from __future__ import annotations

import calendar
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction

from monitor.core import intervals
from monitor.core.intervals import Span
from monitor.core.model import MaintenanceWindow

NOTIFY_WITHIN = timedelta(minutes=30)
"""The carrier must notify the fault contact within 30 minutes of detection (§3)."""

NOTIFY_BREACH_CREDIT = Fraction(1, 30)
"""Credit for a missed notification, per incident (§3, Decision), as a fraction of the
monthly charges (base fee + static NAT option): see :func:`notify_credit`."""

CLAIM_MONTHS = 3
"""A credit must be claimed within 3 months of the day it could first be claimed (§4)."""

MONTHLY_CAP = Fraction(1)
"""A month's total credit never exceeds its base fee (§4)."""


class Tier(StrEnum):
    """Credit tiers of §2, named by their upper bound."""

    NONE = "none"
    MIN60 = "30m-60m"
    H12 = "1h-12h"
    H24 = "12h-24h"
    D3 = "1d-3d"
    D7 = "3d-7d"
    D14 = "7d-14d"
    OVER14 = ">14d"


# (upper bound inclusive, tier, credit). Lower bounds are strict: the previous upper bound.
TIERS: tuple[tuple[timedelta, Tier, Fraction], ...] = (
    (timedelta(minutes=30), Tier.NONE, Fraction(0)),
    (timedelta(minutes=60), Tier.MIN60, Fraction(1, 90)),
    (timedelta(hours=12), Tier.H12, Fraction(1, 30)),
    (timedelta(hours=24), Tier.H24, Fraction(1, 10)),
    (timedelta(days=3), Tier.D3, Fraction(1, 5)),
    (timedelta(days=7), Tier.D7, Fraction(1, 3)),
    (timedelta(days=14), Tier.D14, Fraction(1, 2)),
)


def tier_of(counted: timedelta) -> tuple[Tier, Fraction]:
    """The tier and credit (fraction of the monthly fee) for a counted duration."""
    for upper, tier, credit in TIERS:
        if counted <= upper:
            return tier, credit
    return Tier.OVER14, Fraction(1)


def maintenance_spans(windows: Iterable[MaintenanceWindow]) -> list[Span]:
    """The time announced maintenance takes out (§1, §6.3): each window from
    ``max(start, announced_at)`` to its end, overlapping windows counted once."""
    return intervals.union(w.excluded for w in windows)


def counted_duration(
    start: datetime, end: datetime, maintenance: Sequence[MaintenanceWindow]
) -> timedelta:
    """(end - start) minus its overlap with announced maintenance (§6.3); never negative."""
    return counted_within(start, end, maintenance_spans(maintenance))


def counted_within(start: datetime, end: datetime, spans: Sequence[Span]) -> timedelta:
    """:func:`counted_duration` with the maintenance as :func:`maintenance_spans` gave it."""
    raw = max(end - start, timedelta(0))
    if not spans:
        return raw
    return max(raw - intervals.overlap(start, end, spans), timedelta(0))


def notify_deadline(
    detected: datetime, end: datetime | None, maintenance: Sequence[MaintenanceWindow]
) -> datetime | None:
    """Detection + 30 min; if detected inside announced maintenance, the clock starts when
    the window (merged with any windows it runs into) ends, if the outage is still open then
    (§6.4). None when the outage ended inside the window: no notification is owed."""
    return deadline_within(detected, end, maintenance_spans(maintenance))


def deadline_within(
    detected: datetime, end: datetime | None, spans: Sequence[Span]
) -> datetime | None:
    """:func:`notify_deadline` with the maintenance as :func:`maintenance_spans` gave it."""
    window = intervals.containing(spans, detected) if spans else None
    if window is None:
        return detected + NOTIFY_WITHIN
    if end is not None and end <= window[1]:
        return None
    return window[1] + NOTIFY_WITHIN


@functools.lru_cache(maxsize=4096)  # per circuit's fees; Fraction arithmetic is slow
def notify_credit(fee_yen: int, static_nat_fee_yen: int = 0) -> Fraction:
    """The credit for a missed notification as a fraction of the **base** fee (§3): 1/30 of
    the monthly charges, which are the base fee plus the static NAT option's fee."""
    return NOTIFY_BREACH_CREDIT * Fraction(fee_yen + static_nat_fee_yen, fee_yen)


def notify_breach(deadline: datetime | None, notified: datetime | None, now: datetime) -> bool:
    """True once the deadline has passed with no accepted notice by then (§6.4).

    A notice accepted exactly at the deadline is in time; before the deadline the incident is
    pending, not breached."""
    if deadline is None:
        return False
    if notified is not None and notified <= deadline:
        return False
    return now > deadline


def month_of(at: datetime, tz: tzinfo) -> str:
    """``"YYYY-MM"`` of ``at`` in the circuit's timezone (§6.6)."""
    local = at.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


@functools.lru_cache(maxsize=4096)  # a year's report asks for each of 365 days thousands of times
def add_months(day: date, months: int) -> date:
    """Same day of month ``months`` later, or that month's last day where there is none."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def claim_by(claimable_from: datetime, tz: tzinfo) -> date:
    """Last day to claim: the local date of ``claimable_from`` plus 3 months (§4, §6.7)."""
    return add_months(claimable_from.astimezone(tz).date(), CLAIM_MONTHS)


def yen(fee_yen: int, fraction: Fraction) -> int:
    """Whole yen of ``fraction`` of the fee, rounded down (§6.6)."""
    return (fee_yen * fraction.numerator) // fraction.denominator


def cap(total: Fraction) -> Fraction:
    """A month's credit, capped at the fee (§4)."""
    return min(total, MONTHLY_CAP)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthTotal:
    """One circuit's credit for one calendar month in its timezone; yen rounded down."""

    circuit: str
    month: str
    fee_yen: int
    uncapped: Fraction
    credit: Fraction
    credit_yen: int

    @classmethod
    def of(cls, *, circuit: str, month: str, fee_yen: int, parts: Iterable[Fraction]) -> MonthTotal:
        uncapped = sum(parts, Fraction(0))
        credit = cap(uncapped)
        return cls(
            circuit=circuit,
            month=month,
            fee_yen=fee_yen,
            uncapped=uncapped,
            credit=credit,
            credit_yen=yen(fee_yen, credit),
        )


def shares_yen(credits: list[Fraction], total: MonthTotal) -> list[int]:
    """Each credit's share of the month's **capped** total in whole yen (§4), in order: the
    total split in proportion to the credits, rounded down, the yen left by rounding to the
    largest remainders (ties: the earlier credit), so the shares add up to the total."""
    if not credits or not total.uncapped:
        return [0] * len(credits)
    # c * fee * credit / uncapped (yen per unit of credit, capped) as integers p / q: exact
    fee_scaled = total.fee_yen * total.credit.numerator * total.uncapped.denominator
    down = total.credit.denominator * total.uncapped.numerator
    exact = [(c.numerator * fee_scaled, c.denominator * down) for c in credits]
    shares = [p // q for p, q in exact]  # exact >= 0: rounded down
    if left := total.credit_yen - sum(shares):
        d = math.lcm(*(q for _, q in exact))  # the remainders over one denominator, d
        remainders = [p % q * (d // q) for p, q in exact]
        for n in sorted(range(len(credits)), key=lambda n: (-remainders[n], n))[:left]:
            shares[n] += 1
    return shares


def fraction_text(value: Fraction) -> str:
    """``"0"``, ``"1/90"``, ``"1"``: an exact reduced fraction as text."""
    return str(value)
