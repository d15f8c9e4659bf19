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
    terminate,
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


def term(component: Component, start: date, fee: int) -> ComponentTerm:
    return ComponentTerm(component=component, start=start, monthly_fee_yen=fee)


def test_charge_for_the_rest_of_the_minimum_period() -> None:
    t = terminate([term(Component.BASE, date(2026, 1, 31), 290_000)], date(2026, 2, 10))
    [base] = t.charges
    assert base.minimum_period_last_day == date(2026, 2, 28)
    assert (base.remaining_days, base.period_days) == (18, 29)
    assert base.charge == Fraction(290_000 * 18, 29) and t.total_yen == 180_000


def test_only_the_option_still_in_its_period_is_charged() -> None:
    t = terminate(
        [
            term(Component.BASE, date(2026, 1, 1), 300_000),
            term(Component.OFFICE365, date(2026, 3, 10), 31_000),
            term(Component.STATIC_NAT, date(2026, 1, 5), 10_000),
        ],
        date(2026, 3, 31),
    )
    by = {c.component: c for c in t.charges}
    assert by[Component.BASE].charge == 0 and by[Component.STATIC_NAT].charge == 0
    assert by[Component.OFFICE365].remaining_days == 9  # Apr 1..9
    assert t.total_yen == 31_000 * 9 // 31


def test_the_total_is_rounded_down_once() -> None:
    """Base 100,000 + static NAT 10,037 from 03-01, notice 02-20: last day 03-22, 9 of 31
    days left. Rounded per component it would be 29,032 + 2,913 = 31,945."""
    end = effective_date(date(2026, 2, 20))
    assert end == date(2026, 3, 22)
    t = terminate(
        [
            term(Component.BASE, date(2026, 3, 1), 100_000),
            term(Component.STATIC_NAT, date(2026, 3, 1), 10_037),
        ],
        end,
    )
    assert t.total == Fraction(110_037 * 9, 31) and t.total_yen == 31_946


def test_a_last_day_before_the_billing_start_owes_the_whole_period() -> None:
    end = effective_date(date(2026, 4, 1))  # 05-01, before billing starts on 06-01
    t = terminate([term(Component.BASE, date(2026, 6, 1), 31_000)], end)
    [base] = t.charges
    assert (base.remaining_days, base.period_days) == (30, 30) and t.total_yen == 31_000


def test_article_28_cancellation_owes_nothing() -> None:
    t = terminate(
        [term(Component.BASE, date(2026, 6, 1), 31_000)],
        date(2026, 6, 10),
        no_charge_reason="Art. 28 §2: carrier suspended the service",
    )
    assert t.total == 0 and t.total_yen == 0 and all(c.charge == 0 for c in t.charges)
    assert t.no_charge_reason == "Art. 28 §2: carrier suspended the service"
    assert t.charges[0].remaining_days == 20  # the period is still shown (06-11..30)
    with pytest.raises(InputError, match="reason"):
        terminate(
            [term(Component.BASE, date(2026, 6, 1), 1)], date(2026, 6, 2), no_charge_reason=" "
        )


def test_ending_on_the_last_day_costs_nothing_and_bad_input_is_refused() -> None:
    t = terminate(
        [
            term(Component.BASE, date(2026, 1, 1), 5),
            term(Component.AZURE_PUBLIC, date(2026, 2, 1), 1000),
        ],
        date(2026, 2, 28),
    )
    assert t.total == 0
    with pytest.raises(InputError, match="twice"):
        terminate([term(Component.BASE, date(2026, 2, 1), 1)] * 2, date(2026, 3, 1))
    office = term(Component.OFFICE365, date(2026, 2, 1), 1)
    with pytest.raises(InputError, match="twice"):
        terminate([term(Component.BASE, date(2026, 2, 1), 1), office, office], date(2026, 3, 1))
    with pytest.raises(InputError, match="base service"):
        terminate([office], date(2026, 3, 1))
    with pytest.raises(InputError, match="negative"):
        terminate([term(Component.BASE, date(2026, 2, 1), -1)], date(2026, 3, 1))
