"""monitor.core.report at the level of the core: explicit datetimes, every boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from monitor.core.assess import CircuitTerms
from monitor.core.errors import InputError
from monitor.core.model import Announced, Interval, MaintenanceWindow
from monitor.core.report import ClaimKind, month_report, month_span
from monitor.core.tracker import Incident

TOKYO = ZoneInfo("Asia/Tokyo")
TERMS = {"c1": CircuitTerms(circuit="c1", fee_yen=300_000, tz=TOKYO)}
H = timedelta(hours=1)
MIN = timedelta(minutes=1)


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO).astimezone(UTC)


SEEN = {"c1": jst("2026-01-01T00:00")}
"""c1's first probe result: long before the months these tests measure."""


def incident(
    n: int, start: str, end: str | None, *, notified: str | None = "auto", **kw: object
) -> Incident:
    s = jst(start)
    return Incident(
        id=n,
        circuit="c1",
        start=s,
        detected=s + 2 * MIN,
        end=None if end is None else jst(end),
        notified=s + 5 * MIN if notified == "auto" else None if notified is None else jst(notified),
        **kw,  # type: ignore[arg-type]
    )


def test_month_span_follows_the_circuit_s_timezone_and_dst() -> None:
    start, end = month_span("2026-11", ZoneInfo("America/New_York"))
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # EDT, -4
    assert end == datetime(2026, 12, 1, 5, tzinfo=UTC)  # EST, -5: a 30-day-and-1-hour month
    assert month_span("2026-12", TOKYO) == (
        datetime(2026, 11, 30, 15, tzinfo=UTC),
        datetime(2026, 12, 31, 15, tzinfo=UTC),
    )
    with pytest.raises(InputError, match="YYYY-MM"):
        month_span("2026-1", TOKYO)


def test_an_open_outage_counts_up_to_now_and_the_month_up_to_now() -> None:
    now = jst("2026-10-31T22:00")
    [c] = month_report(
        "2026-10",
        incidents=[incident(1, "2026-10-31T20:00", None)],
        terms=TERMS,
        now=now,
        first_seen=SEEN,
    ).circuits
    assert c.measured_to == now
    assert c.unavailable_s == 2 * 3600
    assert c.service_s == (30 * 24 + 22) * 3600
    assert c.availability == 1 - Fraction(2, 30 * 24 + 22)
    [e] = c.entries
    assert e.assessment.open and e.claims[0].claim_by is None  # not claimable yet
    assert (c.outages[0].start, c.outages[0].end) == (jst("2026-10-31T20:00"), None)


def test_a_future_month_has_no_availability() -> None:
    [c] = month_report("2026-12", incidents=[], terms=TERMS, now=jst("2026-11-15T00:00")).circuits
    assert c.availability is None and c.service_s == 0 and c.measured_to == c.start
    assert c.total.credit == 0 and c.total.credit_yen == 0 and not c.entries


def test_a_breach_detected_next_month_is_listed_there_for_its_1_30_only() -> None:
    late = Incident(
        id=1,
        circuit="c1",
        start=jst("2026-10-31T23:59"),
        detected=jst("2026-11-01T00:01"),
        end=jst("2026-11-01T01:30"),  # 91 min: 1/30 to October
    )
    now = jst("2026-11-20T00:00")
    october = month_report("2026-10", incidents=[late], terms=TERMS, now=now).circuits[0]
    november = month_report("2026-11", incidents=[late], terms=TERMS, now=now).circuits[0]
    assert october.total.credit == Fraction(1, 30)
    assert [cl.kind for cl in october.claims] == [ClaimKind.OUTAGE]
    assert november.total.credit == Fraction(1, 30)
    [e] = november.entries
    assert e.month_credit == Fraction(1, 30)
    assert [cl.kind for cl in november.claims] == [ClaimKind.NOTIFY]
    # detected in November but notified in time: nothing of it is November's to list
    on_time = Incident(
        id=2,
        circuit="c1",
        start=late.start,
        detected=late.detected,
        end=late.end,
        notified=late.detected + MIN,
    )
    assert (
        not month_report("2026-11", incidents=[on_time], terms=TERMS, now=now).circuits[0].entries
    )


@pytest.mark.parametrize(
    ("today", "days_left", "expiring", "expired"),
    [
        ("2026-12-07", 31, False, False),
        ("2026-12-08", 30, True, False),
        ("2027-01-07", 0, True, False),  # the last day itself
        ("2027-01-08", -1, False, True),
    ],
)
def test_claim_flags_at_their_boundaries(
    today: str, days_left: int, expiring: bool, expired: bool
) -> None:
    i = incident(1, "2026-10-07T10:00", "2026-10-07T10:45")  # 1/90, claim by 2027-01-07
    [c] = month_report("2026-10", incidents=[i], terms=TERMS, now=jst(f"{today}T23:59")).circuits
    [claim] = c.claims
    assert claim.claim_by is not None and claim.claim_by.isoformat() == "2027-01-07"
    assert (claim.days_left, claim.expiring, claim.expired) == (days_left, expiring, expired)


def test_maintenance_from_config_and_journal_counts_once() -> None:
    terms = {
        "c1": CircuitTerms(
            circuit="c1",
            fee_yen=300_000,
            tz=TOKYO,
            maintenance=(
                MaintenanceWindow(start=jst("2026-10-05T01:00"), end=jst("2026-10-05T05:00")),
            ),
        )
    }
    api = Announced(
        circuit="c1",
        window=MaintenanceWindow(start=jst("2026-10-05T04:00"), end=jst("2026-10-05T06:00")),
        source="api",
    )
    outage = incident(1, "2026-10-05T00:30", "2026-10-05T02:00")  # 90 min, 60 of it maintenance
    [c] = month_report(
        "2026-10",
        incidents=[outage],
        terms=terms,
        now=jst("2026-11-01T00:00"),
        announced=[api],
        first_seen=SEEN,
    ).circuits
    assert c.maintenance_s == 5 * 3600  # 01:00-06:00 once, not 4 h + 2 h
    assert c.unavailable_s == 30 * 60
    assert c.service_s == 31 * 24 * 3600 - 5 * 3600
    assert [a.source for a in c.maintenance] == ["config", "api"]
    [e] = c.entries
    assert e.assessment.counted_s == 30 * 60 and e.month_credit == 0  # exactly 30:00: nothing


def test_availability_service_time_leaves_out_all_gap_and_blind_time() -> None:
    """SLA.md §6.8: "Service time of a month = the part of the month from the later of the
    month's start and the circuit's first probe result, up to the earlier of the month's end
    and now, minus announced maintenance, unmonitored gaps (the daemon was not running) and
    blind time. Unavailable time = outage time inside the service time".

    A 6 h gap of which 2 h fall inside a 4 h outage: the whole 6 h (and the 1 h blind
    interval) leave the service time, and only the 2 h of the outage inside the service time
    are unavailable. (From the audit of e5983d7, which counted the outage's 2 h inside the gap
    as unavailable and took gap/blind time out only outside outages.)"""
    gap = Interval(start=jst("2026-10-10T00:00"), end=jst("2026-10-10T06:00"))
    blind = Interval(start=jst("2026-10-20T00:00"), end=jst("2026-10-20T01:00"))
    outage = incident(1, "2026-10-10T04:00", "2026-10-10T08:00")
    [c] = month_report(
        "2026-10",
        incidents=[outage],
        terms=TERMS,
        now=jst("2026-11-01T00:00"),
        gaps=[gap],
        blind=[blind],
        first_seen=SEEN,
    ).circuits
    hours = 31 * 24
    assert (c.unavailable_s / 3600, c.service_s / 3600) == (2, hours - 7)
    assert c.availability == 1 - Fraction(2, hours - 7)
    assert c.unmonitored_s == 6 * 3600 + 3600
    assert [(u.start, u.end) for u in c.unmonitored] == [
        (gap.start, gap.end),
        (blind.start, blind.end),
    ]
    [e] = c.entries
    assert e.assessment.duration_s == 4 * 3600  # its credit: the gap beside, not subtracted
    assert e.month_credit == Fraction(1, 30)


def test_an_outage_all_in_a_gap_leaves_no_service_time_no_data() -> None:
    """§6.8: no service time -> "no data", never 100 %, even with an outage recorded."""
    seen = {"c1": jst("2026-10-31T20:00")}
    gap = Interval(start=jst("2026-10-31T21:00"), end=None)  # open: the daemon is down now
    outage = incident(1, "2026-10-31T21:30", None)
    [c] = month_report(
        "2026-10",
        incidents=[outage],
        terms=TERMS,
        now=jst("2026-11-01T03:00"),
        gaps=[gap],
        blind=[Interval(start=jst("2026-10-31T20:00"), end=jst("2026-10-31T21:00"))],
        first_seen=seen,
    ).circuits
    assert (c.service_s, c.unavailable_s, c.availability) == (0, 0, None)
    assert c.unmonitored_s == 4 * 3600


def test_excluded_time_is_unavailable_but_earns_nothing() -> None:
    i = incident(1, "2026-10-15T09:00", "2026-10-15T22:00", excluded="customer power")
    [c] = month_report(
        "2026-10", incidents=[i], terms=TERMS, now=jst("2026-11-01"), first_seen=SEEN
    ).circuits
    assert c.unavailable_s == 13 * 3600 and c.total.credit == 0 and not c.claims
    assert [e.incident.excluded for e in c.exclusions] == ["customer power"]


def test_circuits_are_reported_in_order_and_strangers_ignored() -> None:
    terms = {**TERMS, "c2": CircuitTerms(circuit="c2", fee_yen=1, tz=UTC)}
    stranger = Incident(id=9, circuit="gone", start=jst("2026-10-01"), detected=jst("2026-10-01"))
    r = month_report("2026-10", incidents=[stranger], terms=terms, now=jst("2026-11-01"))
    assert [c.circuit for c in r.circuits] == ["c1", "c2"]
    r = month_report("2026-10", incidents=[], terms=terms, now=jst("2026-11-01"), circuits=["c2"])
    assert [c.circuit for c in r.circuits] == ["c2"]
