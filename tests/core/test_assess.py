"""Assessments and month totals: month attribution, cap, exclusion, maintenance, breach."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction

from monitor.core.assess import assess, month_totals
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
