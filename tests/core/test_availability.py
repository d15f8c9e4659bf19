"""monitor.core.availability.measure at every boundary of SLA.md §6.8: service time is the
span less maintenance, gaps and blind time; unavailable time is outage time inside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.availability import Measured, measure
from monitor.core.intervals import Span

T0 = datetime(2026, 10, 1, tzinfo=UTC)
H = timedelta(hours=1)
DAY = 24 * H


def at(hours: float) -> datetime:
    return T0 + hours * H


def span(lo: float, hi: float) -> Span:
    return at(lo), at(hi)


def day(
    *,
    outages: Sequence[Span] = (),
    maintenance: Sequence[Span] = (),
    unseen: Sequence[Span] = (),
) -> Measured:
    """The first 24 h of October, UTC."""
    return measure(T0, T0 + DAY, outages=outages, maintenance=maintenance, unseen=unseen)


def test_a_gap_across_an_outage_s_start_takes_its_overlap_out_of_both() -> None:
    m = day(outages=[span(4, 8)], unseen=[span(0, 6)])  # 2 h of the outage in the gap
    assert (m.unavailable, m.service, m.unmonitored_time) == (2 * H, 18 * H, 6 * H)
    assert m.unmonitored == (span(0, 6),)  # the whole gap, outage or not
    assert m.availability == 1 - Fraction(2, 18)


def test_a_gap_across_an_outage_s_end_likewise() -> None:
    m = day(outages=[span(4, 8)], unseen=[span(7, 10)])
    assert (m.unavailable, m.service) == (3 * H, 21 * H)


def test_an_outage_wholly_inside_a_gap_is_no_unavailable_time() -> None:
    m = day(outages=[span(4, 8)], unseen=[span(2, 10)])
    assert (m.unavailable, m.service) == (timedelta(0), 16 * H)
    assert m.availability == 1


def test_a_gap_wholly_inside_an_outage_leaves_the_rest_of_it_unavailable() -> None:
    m = day(outages=[span(4, 8)], unseen=[span(5, 6)])
    assert (m.unavailable, m.service) == (3 * H, 23 * H)


def test_blind_time_inside_an_outage_is_left_out_as_a_gap_is() -> None:
    blind = span(4, 4.5)  # the monitor went blind as every path went down
    m = day(outages=[span(4, 8)], unseen=[blind])
    assert (m.unavailable, m.service, m.unmonitored) == (3.5 * H, 23.5 * H, (blind,))


def test_gap_and_blind_time_overlapping_count_once() -> None:
    m = day(outages=[span(4, 8)], unseen=[span(3, 6), span(5, 7)])
    assert (m.unavailable, m.service, m.unmonitored_time) == (H, 20 * H, 4 * H)


def test_maintenance_and_a_gap_overlapping_are_taken_out_once() -> None:
    # maintenance 2-6, gap 4-9, outage 5-10: only 9-10 of the outage is in service time
    m = day(outages=[span(5, 10)], maintenance=[span(2, 6)], unseen=[span(4, 9)])
    assert m.maintenance == 4 * H
    assert m.unmonitored == (span(6, 9),)  # the gap's part outside maintenance
    assert (m.unavailable, m.service) == (H, 24 * H - 4 * H - 3 * H)


def test_touching_spans_leave_nothing_between_them() -> None:
    # outage [4, 8) and gap [8, 10): half-open, they share no instant
    m = day(outages=[span(4, 8)], unseen=[span(8, 10)])
    assert (m.unavailable, m.service) == (4 * H, 22 * H)


def test_no_service_time_is_no_data_even_with_an_outage() -> None:
    whole = span(0, 24)
    for m in (
        day(outages=[whole], unseen=[whole]),
        day(outages=[whole], maintenance=[span(0, 12)], unseen=[span(10, 24)]),
        day(outages=[whole], maintenance=[whole]),
        measure(T0, T0, outages=[whole], maintenance=[], unseen=[]),  # an empty span
    ):
        assert (m.service, m.unavailable, m.availability) == (timedelta(0), timedelta(0), None)


def test_spans_outside_the_measured_span_are_clipped() -> None:
    m = day(outages=[span(-5, 2)], maintenance=[span(23, 30)], unseen=[span(-3, 1), span(22, 26)])
    assert (m.maintenance, m.unmonitored) == (H, (span(0, 1), span(22, 23)))
    assert (m.unavailable, m.service) == (H, 21 * H)


Drawn = tuple[int, int]
"""A span drawn as (start hour, length in hours), around the measured day."""
hours = st.lists(st.tuples(st.integers(-2, 26), st.integers(1, 10)), max_size=4)


def _spans(drawn: list[Drawn]) -> list[Span]:
    return [span(lo, lo + n) for lo, n in drawn]


def _covered(hour: int, spans: list[Span]) -> bool:
    return any(lo <= at(hour) < hi for lo, hi in spans)


@settings(max_examples=300, deadline=None)
@given(hours, hours, hours)
def test_the_figures_are_the_hour_by_hour_count(
    outages: list[Drawn], maintenance: list[Drawn], unseen: list[Drawn]
) -> None:
    """Whole hours: service hours are those in no window and no gap/blind span; unavailable
    hours are the service hours in an outage (service = window - M - U, unavailable = O & it)."""
    o, mt, u = _spans(outages), _spans(maintenance), _spans(unseen)
    m = day(outages=o, maintenance=mt, unseen=u)
    service = [h for h in range(24) if not _covered(h, mt) and not _covered(h, u)]
    down = [h for h in service if _covered(h, o)]
    assert m.service == len(service) * H
    assert m.unavailable == len(down) * H
    assert m.maintenance + m.unmonitored_time + m.service == DAY
    expected = None if not service else 1 - Fraction(len(down), len(service))
    assert m.availability == expected
