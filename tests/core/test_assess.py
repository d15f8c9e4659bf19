"""Assessments and month totals: month attribution, cap, exclusion, maintenance, breach."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction

from monitor.core.assess import CircuitTerms, assess, month_totals
from monitor.core.model import MaintenanceWindow
from monitor.core.tracker import Incident
from tests.core.helpers import CID, MIN, T0, terms

H = timedelta(hours=1)


def inc(
    start: datetime,
    minutes: float,
    *,
    iid: int = 1,
    notified: datetime | None = None,
    detected: timedelta = 2 * MIN,
) -> Incident:
    return Incident(
        id=iid,
        circuit=CID,
        start=start,
        detected=start + detected,
        end=start + timedelta(minutes=minutes),
        notified=notified,
    )


def test_cross_month_outage_belongs_to_its_start_month() -> None:
    start = datetime.fromisoformat("2026-10-31T23:30:00+09:00")
    a = assess(inc(start, 90, notified=start + 5 * MIN), terms(), now=start + 3 * H)
    assert a.month == "2026-10" and a.credit == Fraction(1, 30)
    assert a.claim_by is not None and a.claim_by.isoformat() == "2027-02-01"


def test_breach_belongs_to_the_month_of_detection() -> None:
    start = datetime.fromisoformat("2026-10-31T23:50:00+09:00")
    a = assess(inc(start, 60, detected=20 * MIN), terms(), now=start + 3 * H)
    assert (a.month, a.notify_month) == ("2026-10", "2026-11")
    assert a.notify_breach and a.notify_credit == Fraction(1, 30)
    rows = {m.month: m for m in month_totals([a], {CID: terms()})}
    assert rows["2026-10"].credit == Fraction(1, 90)
    assert rows["2026-11"].credit == Fraction(1, 30) and rows["2026-11"].credit_yen == 10_000


def test_monthly_cap_and_fifteen_day_outage() -> None:
    a = assess(inc(T0, 15 * 24 * 60, notified=T0), terms(), now=T0 + 16 * 24 * H)
    b = assess(
        inc(T0 + 16 * 24 * H, 8 * 24 * 60, iid=2, notified=T0 + 16 * 24 * H),
        terms(),
        now=T0 + 30 * 24 * H,
    )
    assert a.credit == 1 and b.credit == Fraction(1, 2)
    [row] = month_totals([a, b], {CID: terms()})
    assert row.uncapped == Fraction(3, 2) and row.credit == 1 and row.credit_yen == 300_000


def test_excluded_incident_earns_nothing() -> None:
    i = replace(inc(T0, 120), excluded="customer power work")
    a = assess(i, terms(), now=T0 + 5 * H)
    assert a.credit == 0 and a.notify_credit == 0 and a.notify_breach


def test_open_incident_measured_to_now_with_maintenance() -> None:
    window = MaintenanceWindow(start=T0 + 10 * MIN, end=T0 + 40 * MIN)
    i = Incident(id=1, circuit=CID, start=T0, detected=T0 + 2 * MIN)
    a = assess(i, terms(window), now=T0 + 61 * MIN)
    assert a.duration_s == 61 * 60 and a.counted_s == 31 * 60 and a.maintenance_s == 30 * 60
    assert a.credit == Fraction(1, 90) and a.claim_by is None


# -- SLA.md §1, §3, §6.2 as corrected on 2026-12-01 ------------------------------------------
def nat_terms(*windows: MaintenanceWindow) -> CircuitTerms:
    return replace(terms(*windows), static_nat_fee_yen=45_000)


def test_a_missed_notice_is_a_thirtieth_of_base_plus_static_nat() -> None:
    """Base 300,000 + NAT 45,000; a 75-minute outage, never notified: 10,000 + 11,500."""
    a = assess(inc(T0, 75), nat_terms(), now=T0 + 3 * H)
    assert a.credit == Fraction(1, 30)  # the outage: of the base fee only
    assert a.notify_breach and a.notify_credit == Fraction(345_000, 30 * 300_000)
    [row] = month_totals([a], {CID: nat_terms()})
    assert row.credit == Fraction(1, 30) + Fraction(23, 600) and row.credit_yen == 21_500


def test_the_cap_stays_one_base_fee_with_a_nat_option() -> None:
    a = assess(inc(T0, 15 * 24 * 60), nat_terms(), now=T0 + 16 * 24 * H)  # whole fee + notice
    [row] = month_totals([a], {CID: nat_terms()})
    assert row.uncapped > 1 and row.credit == 1 and row.credit_yen == 300_000


def test_a_window_counts_only_from_its_announcement() -> None:
    """A 120-minute outage; a window over all of it, announced 40 minutes in: 80 minutes are
    excluded, 40 count (30m-60m: 1/90). Announced a day earlier: all 120 are excluded."""
    late = MaintenanceWindow(start=T0, end=T0 + 2 * H, announced_at=T0 + 40 * MIN)
    a = assess(inc(T0, 120, notified=T0 + 5 * MIN), terms(late), now=T0 + 3 * H)
    assert (a.counted_s, a.maintenance_s) == (40 * 60, 80 * 60) and a.credit == Fraction(1, 90)
    early = replace(late, announced_at=T0 - 24 * H)
    b = assess(inc(T0, 120, notified=T0 + 5 * MIN), terms(early), now=T0 + 3 * H)
    assert (b.counted_s, b.credit) == (0, 0)
    told_after_it_ended = replace(late, announced_at=T0 + 3 * H)
    c = assess(inc(T0, 120, notified=T0 + 5 * MIN), terms(told_after_it_ended), now=T0 + 4 * H)
    assert c.counted_s == 120 * 60


def test_overlapping_windows_count_once_each_from_its_announcement() -> None:
    """[0, 60) told at 30 and [20, 90) told at 0: excluded [20, 90) = 70 of 100 minutes."""
    w1 = MaintenanceWindow(start=T0, end=T0 + 60 * MIN, announced_at=T0 + 30 * MIN)
    w2 = MaintenanceWindow(start=T0 + 20 * MIN, end=T0 + 90 * MIN, announced_at=T0)
    a = assess(inc(T0, 100, notified=T0), terms(w1, w2), now=T0 + 2 * H)
    assert a.maintenance_s == 70 * 60 and a.counted_s == 30 * 60 and a.credit == 0


def test_detection_in_a_window_not_yet_announced_keeps_the_clock() -> None:
    """The clock moves to a window's end only if detection falls in its announced part."""
    w = MaintenanceWindow(start=T0, end=T0 + H, announced_at=T0 + 30 * MIN)
    a = assess(inc(T0, 120), terms(w), now=T0 + 3 * H)  # detected at +2 min, before told
    assert a.notify_deadline == T0 + 32 * MIN
    b = assess(inc(T0 + 40 * MIN, 120), terms(w), now=T0 + 4 * H)  # detected at +42, inside
    assert b.notify_deadline == T0 + H + 30 * MIN


def test_a_voided_outage_owes_no_notice() -> None:
    voided = Incident(id=1, circuit=CID, start=T0, detected=T0 + 2 * MIN, end=T0)
    assert voided.voided
    a = assess(voided, terms(), now=T0 + 5 * H)
    assert a.notify_deadline is None and not a.notify_breach and a.notify_credit == 0
    assert a.credit == 0 and a.duration_s == 0
