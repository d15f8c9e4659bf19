"""The RTT history behind the sparklines: a day per path, fixed memory, old slots read as
no data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.service.rtt_history import BUCKET_S, BUCKETS, RttHistory

T0 = datetime(2026, 10, 7, 0, 0, tzinfo=UTC)
P = PathKey(circuit="c1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
Q = PathKey(circuit="c1", router=Router.STANDBY, demarc=Demarc.PRIMARY)


def result(at: datetime, rtt: float | None) -> ProbeResult:
    return ProbeResult(target="x", at=at, ok=rtt is not None, rtt=rtt)


def test_a_bucket_keeps_min_avg_max_and_losses() -> None:
    h = RttHistory()
    h.add([(P, result(T0, 0.001)), (Q, result(T0, None))])
    h.add([(P, result(T0 + timedelta(seconds=1), 0.003))])
    h.add([(P, result(T0 + timedelta(seconds=2), None))])
    [point] = h.series(P, T0 + timedelta(seconds=3))
    assert (point.answered, point.lost) == (2, 1)
    figures = (point.min_ms, point.avg_ms, point.max_ms)
    assert all(abs((x or 0) - want) < 1e-4 for x, want in zip(figures, (1, 2, 3), strict=True))
    [lost] = h.series(Q, T0)
    assert lost.avg_ms is None and lost.lost == 1


def test_two_days_keep_one_and_memory_stays_fixed() -> None:
    h = RttHistory()
    step = timedelta(seconds=BUCKET_S)
    for n in range(2 * BUCKETS):
        h.add([(P, result(T0 + n * step, 0.001 + n / 1e6))])
    now = T0 + (2 * BUCKETS - 1) * step
    day = h.series(P, now)
    assert len(day) == BUCKETS and day[0].at == now - (BUCKETS - 1) * step
    late = T0  # two days late: it would overwrite a newer slot, so it is dropped
    h.add([(P, result(late, 0.5))])
    assert max(p.max_ms or 0 for p in h.series(P, now)) < 2.0
    # a day later with no results: nothing left to show
    assert h.series(P, now + timedelta(days=1)) == ()
    h.retain({Q})
    assert len(h) == 0
