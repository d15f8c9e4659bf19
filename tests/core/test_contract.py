"""The contract calendar of SLA.md §5 (readings documented in monitor/core/contract.py)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from monitor.core.contract import (
    Component,
    ComponentTerm,
    effective_date,
    minimum_period_last_day,
    termination_charges,
)
from monitor.core.errors import InputError


@pytest.mark.parametrize(
    ("start", "last"),
    [
        (date(2026, 1, 15), date(2026, 2, 14)),
        (date(2026, 1, 31), date(2026, 2, 28)),  # no Feb 31: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 1, 30), date(2026, 2, 28)),
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 31), date(2027, 1, 30)),
    ],
)
def test_minimum_period_of_one_month(start: date, last: date) -> None:
    assert minimum_period_last_day(start) == last


def test_cancellation_takes_effect_on_the_later_day() -> None:
    assert effective_date(date(2026, 10, 31)) == date(2026, 11, 30)
    assert effective_date(date(2026, 1, 31)) == date(2026, 3, 2)
    assert effective_date(date(2026, 10, 31), date(2026, 11, 15)) == date(2026, 11, 30)
    assert effective_date(date(2026, 10, 31), date(2026, 12, 31)) == date(2026, 12, 31)


def test_charge_for_the_rest_of_the_minimum_period() -> None:
    [base] = termination_charges(
        [ComponentTerm(component=Component.BASE, start=date(2026, 1, 31), monthly_fee_yen=290_000)],
        date(2026, 2, 10),
    )
    assert base.minimum_period_last_day == date(2026, 2, 28)
    assert (base.remaining_days, base.period_days) == (18, 29)
    assert base.charge == Fraction(290_000 * 18, 29) and base.charge_yen == 180_000


def test_only_the_option_still_in_its_period_is_charged() -> None:
    charges = termination_charges(
        [
            ComponentTerm(
                component=Component.BASE, start=date(2026, 1, 1), monthly_fee_yen=300_000
            ),
            ComponentTerm(
                component=Component.OFFICE365, start=date(2026, 3, 10), monthly_fee_yen=31_000
            ),
            ComponentTerm(
                component=Component.STATIC_NAT, start=date(2026, 1, 5), monthly_fee_yen=10_000
            ),
        ],
        date(2026, 3, 31),
    )
    by = {c.component: c for c in charges}
    assert by[Component.BASE].charge == 0 and by[Component.STATIC_NAT].charge == 0
    assert by[Component.OFFICE365].remaining_days == 9  # Apr 1..9
    assert by[Component.OFFICE365].charge_yen == 31_000 * 9 // 31


def test_ending_on_the_last_day_costs_nothing_and_bad_input_is_refused() -> None:
    [c] = termination_charges(
        [
            ComponentTerm(
                component=Component.AZURE_PUBLIC, start=date(2026, 2, 1), monthly_fee_yen=1000
            )
        ],
        date(2026, 2, 28),
    )
    assert c.charge == 0
    with pytest.raises(InputError):
        termination_charges(
            [ComponentTerm(component=Component.BASE, start=date(2026, 2, 1), monthly_fee_yen=1000)],
            date(2026, 1, 1),
        )
