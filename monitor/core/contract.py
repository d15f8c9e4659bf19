"""The contract calendar (SLA.md §5): minimum periods, cancellation date, early-termination charge.

Dates are local calendar dates of the contract (the circuit's timezone); no clock is read.

Readings of the regulation (Articles 2, 7, 10, 12, Appendix 3; SLA.md §5 Decisions; Civil Code
art. 140: the first day is not counted):
- A minimum period of one month *from* a start date includes that date (起算日) and ends on
  the day before the same day of the next month, or on that month's last day where the next
  month has no such day: 2026-01-15 -> 2026-02-14, 2026-01-31 -> 2026-02-28,
  2026-01-01 -> 2026-01-31.
- The day the notice reaches the carrier is day 0; "the day on which 30 days have passed" is
  notice + 30 days: notice on 2026-11-01 -> 2026-12-01. That, or a later requested day, is the
  **last day of service** (the effective date).
- Ending inside a component's minimum period costs that component's monthly fee for the days
  of the period after the last day of service, over the period's length in days. A last day
  of service before the component's start owes its whole period. The charges of the base
  service and its options are summed as exact fractions and the total is rounded **down
  once**, to whole yen.
- A cancellation under general regulation Article 28 §2/§3 owes nothing (Article 12): the
  operator states the reason, and the charge is 0.
- The components are the base service and exactly three options (Office 365 connection,
  Azure Public connection, static NAT), each at most once in one calculation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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
    """What ending a component on ``end`` (its last day of service) costs: the days of its
    minimum period after ``end``, as an exact fraction of yen (never rounded here)."""

    component: Component
    minimum_period_last_day: date
    remaining_days: int
    period_days: int
    charge: Fraction


@dataclass(frozen=True, slots=True, kw_only=True)
class Termination:
    """A cancellation: its last day of service, each component's charge, and the total,
    summed exactly and rounded down once (``total_yen``). ``no_charge_reason`` is set when the
    cancellation is under general regulation Article 28 §2/§3: then every charge is 0."""

    last_day: date
    charges: tuple[TerminationCharge, ...]
    total: Fraction
    total_yen: int
    no_charge_reason: str | None = None


def minimum_period_last_day(start: date, months: int = 1) -> date:
    """Last day of a minimum period of ``months`` months starting on (and including) ``start``."""
    same_day = add_months(start, months)
    if same_day.day != start.day:  # the month has no such day: its last day ends the period
        return same_day
    return same_day - timedelta(days=1)


def effective_date(notice_received: date, requested: date | None = None) -> date:
    """The last day of service: the later of notice + 30 days and the requested day."""
    earliest = notice_received + timedelta(days=NOTICE_DAYS)
    return earliest if requested is None else max(earliest, requested)


def check_components(terms: Iterable[ComponentTerm]) -> list[ComponentTerm]:
    """The terms, refused unless the base service comes once and each option at most once,
    with no negative fee."""
    terms = list(terms)
    seen: set[Component] = set()
    for term in terms:
        if term.monthly_fee_yen < 0:
            raise InputError(f"{term.component}: monthly fee must not be negative")
        if term.component in seen:
            raise InputError(f"{term.component} is given twice: give each option at most once")
        seen.add(term.component)
    if Component.BASE not in seen:
        raise InputError("the base service's terms are missing (its start and fee)")
    return terms


def charge(term: ComponentTerm, end: date) -> TerminationCharge:
    """Ending ``term`` with ``end`` as its last day of service (module docstring)."""
    last = minimum_period_last_day(term.start)
    period = (last - term.start).days + 1
    remaining = period if end < term.start else max((last - end).days, 0)
    return TerminationCharge(
        component=term.component,
        minimum_period_last_day=last,
        remaining_days=remaining,
        period_days=period,
        charge=Fraction(term.monthly_fee_yen * remaining, period),
    )


def terminate(
    terms: Iterable[ComponentTerm], end: date, *, no_charge_reason: str | None = None
) -> Termination:
    """Every component ended on ``end``; the total rounded down once. With a
    ``no_charge_reason`` (Article 28 §2/§3) the periods are still shown, each charge 0."""
    charges = [charge(t, end) for t in check_components(terms)]
    if no_charge_reason is not None:
        if not no_charge_reason.strip():
            raise InputError("a no-charge cancellation needs its reason (Article 28 §2 or §3)")
        charges = [replace(c, charge=Fraction(0)) for c in charges]
    total = sum((c.charge for c in charges), Fraction(0))
    return Termination(
        last_day=end,
        charges=tuple(charges),
        total=total,
        total_yen=total.numerator // total.denominator,
        no_charge_reason=None if no_charge_reason is None else no_charge_reason.strip(),
    )
