"""The contract calendar (SLA.md §5): minimum periods, cancellation date, early-termination charge.

Dates are local calendar dates of the contract (the circuit's timezone); no clock is read.

Readings of the regulation made here (the regulation leaves them open; see README):
- A minimum period of one month *from* a start date includes that date (起算日) and ends on
  the day before the same day of the next month, or on that month's last day where the next
  month has no such day (Civil Code art. 143): 2026-01-15 -> 2026-02-14, 2026-01-31 -> 2026-02-28,
  2026-01-01 -> 2026-01-31.
- "The day on which 30 days have passed since the notice reached the carrier" excludes the day
  of arrival (初日不算入): notice on 2026-11-01 -> 2026-12-01.
- The effective date is the contract's last day. It ends *within* the minimum period when it
  falls before the period's last day; the charge is the monthly fee prorated by days for the
  days after the effective date up to the period's last day, over the period's length in days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from monitor.core.errors import InputError
from monitor.core.sla import add_months

NOTICE_DAYS = 30


class Component(StrEnum):
    """Parts of the contract with their own minimum period (Articles 2 and 7)."""

    BASE = "base"
    OFFICE365 = "office365"
    AZURE_PUBLIC = "azure_public"
    STATIC_NAT = "static_nat"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentTerm:
    """A component's charge start date and monthly fee (yen)."""

    component: Component
    start: date
    monthly_fee_yen: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminationCharge:
    """What ending a component on ``end`` costs: the remaining part of its minimum period."""

    component: Component
    minimum_period_last_day: date
    remaining_days: int
    period_days: int
    charge: Fraction
    charge_yen: int


def minimum_period_last_day(start: date, months: int = 1) -> date:
    """Last day of a minimum period of ``months`` months starting on (and including) ``start``."""
    same_day = add_months(start, months)
    if same_day.day != start.day:  # the month has no such day: its last day ends the period
        return same_day
    return same_day - timedelta(days=1)


def effective_date(notice_received: date, requested: date | None = None) -> date:
    """When a cancellation takes effect: the later of notice + 30 days and the requested day."""
    earliest = notice_received + timedelta(days=NOTICE_DAYS)
    return earliest if requested is None else max(earliest, requested)


def termination_charges(terms: Iterable[ComponentTerm], end: date) -> list[TerminationCharge]:
    """Charges for ending every listed component on ``end`` (its last day). Components whose
    minimum period has run out by ``end`` cost nothing and are still listed (charge 0)."""
    charges = []
    for term in terms:
        if term.monthly_fee_yen < 0:
            raise InputError(f"{term.component}: monthly fee must not be negative")
        if end < term.start:
            raise InputError(f"{term.component}: ends {end} before it starts {term.start}")
        last = minimum_period_last_day(term.start)
        period = (last - term.start).days + 1
        remaining = max((last - end).days, 0)
        charge = Fraction(term.monthly_fee_yen * remaining, period)
        charges.append(
            TerminationCharge(
                component=term.component,
                minimum_period_last_day=last,
                remaining_days=remaining,
                period_days=period,
                charge=charge,
                charge_yen=charge.numerator // charge.denominator,
            )
        )
    return charges
