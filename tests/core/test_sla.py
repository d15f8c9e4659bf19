"""SLA arithmetic at every boundary of SLA.md §2-4, §6.3-6.7."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core import sla
from monitor.core.model import MaintenanceWindow
from tests.core.helpers import MIN, T0, TOKYO

S = timedelta(seconds=1)
H = timedelta(hours=1)
D = timedelta(days=1)

BOUNDARIES = [
    (30 * MIN, Fraction(0)),
    (30 * MIN + S, Fraction(1, 90)),
    (60 * MIN, Fraction(1, 90)),
    (60 * MIN + S, Fraction(1, 30)),
    (12 * H, Fraction(1, 30)),
    (12 * H + S, Fraction(1, 10)),
    (24 * H, Fraction(1, 10)),
    (24 * H + S, Fraction(1, 5)),
    (3 * D, Fraction(1, 5)),
    (3 * D + S, Fraction(1, 3)),
    (7 * D, Fraction(1, 3)),
    (7 * D + S, Fraction(1, 2)),
    (14 * D, Fraction(1, 2)),
    (14 * D + S, Fraction(1)),
    (15 * D, Fraction(1)),
    (timedelta(0), Fraction(0)),
    (S, Fraction(0)),
]


@pytest.mark.parametrize(("counted", "credit"), BOUNDARIES)
def test_every_tier_boundary(counted: timedelta, credit: Fraction) -> None:
    assert sla.tier_of(counted)[1] == credit


def test_tiers_are_monotonic_and_named() -> None:
    credits = [sla.tier_of(d)[1] for d, _ in sorted(BOUNDARIES)]
    assert credits == sorted(credits)
    assert sla.tier_of(31 * MIN)[0] is sla.Tier.MIN60
    assert sla.tier_of(15 * D)[0] is sla.Tier.OVER14


def w(start: timedelta, end: timedelta) -> MaintenanceWindow:
    return MaintenanceWindow(start=T0 + start, end=T0 + end, note="m")


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        ([], 60 * MIN),
        ([w(-30 * MIN, 20 * MIN)], 40 * MIN),  # outage starts inside a window
        ([w(50 * MIN, 2 * H)], 50 * MIN),  # outage ends inside a window
        ([w(10 * MIN, 20 * MIN)], 50 * MIN),  # window inside the outage
        ([w(-H, 2 * H)], timedelta(0)),  # outage entirely inside: counts 0
        ([w(10 * MIN, 30 * MIN), w(20 * MIN, 40 * MIN)], 30 * MIN),  # overlapping: counted once
        ([w(2 * H, 3 * H)], 60 * MIN),  # window elsewhere
    ],
)
def test_counted_duration_minus_maintenance(
    windows: list[MaintenanceWindow], expected: timedelta
) -> None:
    assert sla.counted_duration(T0, T0 + 60 * MIN, windows) == expected


def test_deadline_is_detection_plus_30_min() -> None:
    assert sla.notify_deadline(T0, None, []) == T0 + 30 * MIN


def test_detection_inside_maintenance_moves_the_clock_to_its_end() -> None:
    windows = [w(-H, 2 * H)]
    assert sla.notify_deadline(T0, None, windows) == T0 + 2 * H + 30 * MIN
    assert sla.notify_deadline(T0, T0 + 3 * H, windows) == T0 + 2 * H + 30 * MIN
    # the outage ended inside the window: no notice was owed
    assert sla.notify_deadline(T0, T0 + H, windows) is None
    # detection just at the window's end is outside it (half-open)
    assert sla.notify_deadline(T0 + 2 * H, None, windows) == T0 + 2 * H + 30 * MIN


def test_breach_rules() -> None:
    deadline = T0 + 30 * MIN
    assert sla.notify_breach(deadline, deadline, T0 + H) is False  # exactly at: in time
    assert sla.notify_breach(deadline, deadline + S, T0 + H) is True  # late
    assert sla.notify_breach(deadline, None, deadline) is False  # pending
    assert sla.notify_breach(deadline, None, deadline + S) is True  # missing
    assert sla.notify_breach(None, None, T0 + 10 * H) is False  # none owed


def test_month_in_tokyo() -> None:
    late_oct = datetime.fromisoformat("2026-10-31T23:50:00+09:00")
    assert late_oct.astimezone(TOKYO).month == 10
    assert sla.month_of(late_oct, TOKYO) == "2026-10"  # 14:50Z on the 31st
    early_nov = datetime.fromisoformat("2026-11-01T00:10:00+09:00")  # 15:10Z on Oct 31
    assert sla.month_of(early_nov, TOKYO) == "2026-11"


@pytest.mark.parametrize(
    ("day", "claim"),
    [
        (date(2026, 10, 7), date(2027, 1, 7)),
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2027, 11, 30), date(2028, 2, 29)),  # leap year
        (date(2026, 12, 31), date(2027, 3, 31)),
        (date(2026, 8, 31), date(2026, 11, 30)),
    ],
)
def test_claim_deadline_three_calendar_months(day: date, claim: date) -> None:
    end = datetime(day.year, day.month, day.day, 12, tzinfo=TOKYO)
    assert sla.claim_by(end, TOKYO) == claim


def test_claim_date_is_the_local_date() -> None:
    # 2026-11-30T16:00Z is already 2026-12-01 in Tokyo
    end = datetime.fromisoformat("2026-11-30T16:00:00+00:00")
    assert sla.claim_by(end, TOKYO) == date(2027, 3, 1)


def test_yen_rounds_down_and_cap() -> None:
    assert sla.yen(300_000, Fraction(1, 90)) == 3333
    assert sla.yen(300_000, Fraction(1, 30)) == 10_000
    assert sla.yen(100, Fraction(2, 3)) == 66
    total = sla.MonthTotal.of(
        circuit="c",
        month="2026-10",
        fee_yen=300_000,
        parts=[Fraction(1, 2), Fraction(1, 2), Fraction(1, 3)],
    )
    assert total.uncapped == Fraction(4, 3)
    assert total.credit == 1 and total.credit_yen == 300_000


def _shares_by_fractions(credits: list[Fraction], total: sla.MonthTotal) -> list[int]:
    """The rule of §4 as written, in Fraction arithmetic (what shares_yen computes in ints)."""
    if not credits or not total.uncapped:
        return [0] * len(credits)
    exact = [c * total.fee_yen * total.credit / total.uncapped for c in credits]
    shares = [x.numerator // x.denominator for x in exact]
    left = total.credit_yen - sum(shares)
    ranked = sorted(range(len(credits)), key=lambda n: (-(exact[n] - shares[n]), n))
    for n in ranked[:left]:
        shares[n] += 1
    return shares


CREDITS = st.sampled_from(
    [t[2] for t in sla.TIERS] + [Fraction(1), sla.notify_credit(100_000, 7_001)]
)


@given(
    credits=st.lists(CREDITS, max_size=40),
    fee=st.integers(min_value=1, max_value=10**9),
)
def test_shares_of_the_capped_total_in_yen_are_the_rule_in_fractions(
    credits: list[Fraction], fee: int
) -> None:
    total = sla.MonthTotal.of(circuit="c", month="2026-10", fee_yen=fee, parts=credits)
    shares = sla.shares_yen(credits, total)
    assert shares == _shares_by_fractions(credits, total)
    assert sum(shares) == (total.credit_yen if total.uncapped else 0)
