"""The RTT history behind the sparklines: a day per path, fixed memory, old slots read as
no data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.inputs import Probed
from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.service.rtt_history import (
    BUCKET_S,
    BUCKETS,
    BYTES_PER_PATH,
    RttHistory,
    decode,
    encode,
)

T0 = datetime(2026, 10, 7, 0, 0, tzinfo=UTC)
P = PathKey(circuit="c1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
Q = PathKey(circuit="c1", router=Router.STANDBY, demarc=Demarc.PRIMARY)


def result(at: datetime, rtt: float | None) -> ProbeResult:
    return ProbeResult(target="x", at=at, ok=rtt is not None, rtt=rtt)


def close(x: float | None, want: float) -> bool:
    """Within the log scale's half step (0.017 %)."""
    return x is not None and abs(x - want) <= want * 1.7e-4


def test_a_bucket_keeps_min_avg_max_and_losses() -> None:
    h = RttHistory()
    h.add(Probed.of([(P, result(T0, 0.001)), (Q, result(T0, None))]))
    h.add(Probed.of([(P, result(T0 + timedelta(seconds=1), 0.003))]))
    h.add(Probed.of([(P, result(T0 + timedelta(seconds=2), None))]))
    [point] = h.series(P, T0 + timedelta(seconds=3))
    assert (point.answered, point.lost) == (2, 1)
    figures = (point.min_ms, point.avg_ms, point.max_ms)
    assert all(close(x, want) for x, want in zip(figures, (1, 2, 3), strict=True))
    [lost] = h.series(Q, T0)
    assert lost.avg_ms is None and lost.lost == 1


def test_two_days_keep_one_and_memory_stays_fixed() -> None:
    h = RttHistory()
    step = timedelta(seconds=BUCKET_S)
    for n in range(2 * BUCKETS):
        h.add(Probed.of([(P, result(T0 + n * step, 0.001 + n / 1e6))]))
    now = T0 + (2 * BUCKETS - 1) * step
    day = h.series(P, now)
    assert len(day) == BUCKETS and day[0].at == now - (BUCKETS - 1) * step
    late = T0  # two days late: it would overwrite a newer slot, so it is dropped
    h.add(Probed.of([(P, result(late, 0.5))]))
    assert max(p.max_ms or 0 for p in h.series(P, now)) < 2.0
    # a day later with no results: nothing left to show
    assert h.series(P, now + timedelta(days=1)) == ()
    h.retain({Q})
    assert len(h) == 0


@given(st.floats(min_value=1e-7, max_value=300.0))
def test_a_code_reads_back_within_half_a_step(rtt: float) -> None:
    assert 1 <= encode(rtt) <= 0xFFFF
    assert abs(decode(encode(rtt)) - rtt) <= rtt * 1.7e-4


def test_the_newest_mean_is_exact_and_a_closed_one_within_a_step() -> None:
    h = RttHistory()
    rtts = [0.000011, 0.000013, 0.000019]
    for n, rtt in enumerate(rtts):
        h.add(Probed.of([(P, result(T0 + timedelta(seconds=n), rtt))]))
    [now] = h.series(P, T0)
    assert now.avg_ms == sum(rtts) / 3 * 1000
    h.add(Probed.of([(P, result(T0 + timedelta(seconds=BUCKET_S), 0.002))]))
    closed, _ = h.series(P, T0 + timedelta(seconds=BUCKET_S))
    assert close(closed.avg_ms, sum(rtts) / 3 * 1000) and closed.answered == 3


def test_moving_on_empties_the_slots_between_and_a_late_result_finds_its_own() -> None:
    h = RttHistory()
    step = timedelta(seconds=BUCKET_S)
    h.add(Probed.of([(P, result(T0, 0.001))]))
    h.add(Probed.of([(P, result(T0 + 5 * step, 0.004))]))
    first, last = h.series(P, T0 + 5 * step)
    assert (first.at, last.at) == (T0, T0 + 5 * step)
    h.add(Probed.of([(P, result(T0 + 2 * step, 0.002)), (P, result(T0 + 2 * step, None))]))
    h.add(Probed.of([(P, result(T0, 0.003))]))  # late, into the first slot: mean of 1 and 3 ms
    points = h.series(P, T0 + 5 * step)
    assert [p.at for p in points] == [T0, T0 + 2 * step, T0 + 5 * step]
    assert close(points[0].avg_ms, 2.0) and close(points[0].max_ms, 3.0)
    assert (points[1].answered, points[1].lost) == (1, 1)
    # a day on, the ring wraps onto the slots of T0 and T0 + step: T0's figures are gone
    later = T0 + (BUCKETS + 1) * step
    h.add(Probed.of([(P, result(later, 0.005))]))
    assert [p.at for p in h.series(P, later)] == [T0 + 2 * step, T0 + 5 * step, later]
    h.add(Probed.of([(P, result(T0 + step, 0.009))]))  # over a day late: dropped
    assert [p.at for p in h.series(P, later)] == [T0 + 2 * step, T0 + 5 * step, later]


def test_a_path_costs_one_fixed_array() -> None:
    h = RttHistory()
    for n in range(3 * BUCKETS):
        h.add(Probed.of([(P, result(T0 + n * timedelta(seconds=BUCKET_S // 2), 0.001))]))
    ring = h._rings[P]
    assert ring.cells.itemsize * len(ring.cells) == BYTES_PER_PATH == 2880
