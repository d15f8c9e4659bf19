"""The event loop's watchdog (service/stall.py): the monotonic clock decides what a stall is,
the wall clock only names its gap; in the shell, a real stall of the loop is journalled as an
unmonitored gap, shown by the API and counted, and a step of the wall clock alone is not one.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from monitor.core.model import Interval
from monitor.service.stall import BEAT_S, StallWatch
from tests.service.harness import T0, Harness

S = timedelta(seconds=1)


def test_wake_ups_within_the_threshold_are_no_stall() -> None:
    w = StallWatch(2.0, mono=100.0, wall=T0)
    assert w.ran(100.25, T0 + S / 4) is None
    assert w.ran(102.25, T0 + 2.25 * S) is None  # exactly the threshold: not more


def test_a_stall_runs_from_the_last_wake_up_to_this_one_in_wall_time() -> None:
    w = StallWatch(2.0, mono=100.0, wall=T0)
    w.ran(100.25, T0 + S / 4)
    assert w.ran(112.25, T0 + 12.25 * S) == Interval(start=T0 + S / 4, end=T0 + 12.25 * S)
    assert w.ran(112.5, T0 + 12.5 * S) is None  # running again


def test_a_wall_clock_step_is_no_stall_but_a_step_forward_is_a_gap() -> None:
    w = StallWatch(2.0, mono=100.0, wall=T0)
    hour = timedelta(hours=1)
    assert w.ran(100.25, T0 + hour) == Interval(start=T0, end=T0 + hour)  # wall time skipped
    assert (w.stepped, w.step_s) == (True, 3600.0 - 0.25)
    assert w.ran(100.5, T0 + S / 4) is None  # back again: no gap, but a step
    assert (w.stepped, w.step_s) == (False, -3600.0)
    assert w.ran(100.75, T0 + S / 2) is None and w.step_s == 0.0
    assert w.ran(101.0, T0 + 0.75 * S + timedelta(milliseconds=900)) is None  # under 1 s
    assert w.step_s == 0.0


def test_a_stall_across_a_step_back_of_the_wall_clock_is_its_monotonic_length() -> None:
    w = StallWatch(2.0, mono=100.0, wall=T0)
    back = T0 - timedelta(hours=1)
    assert w.ran(105.0, back) == Interval(start=back - 5 * S, end=back)


def test_the_threshold_follows_a_reload() -> None:
    w = StallWatch(2.0, mono=0.0, wall=T0)
    w.threshold_s = 10.0
    assert w.ran(5.0, T0 + 5 * S) is None


def freeze(h: Harness, seconds: float) -> None:
    """The event loop does nothing for ``seconds`` (a VM frozen, say); the wall clock runs."""
    time.sleep(seconds)
    h.clock.advance(timedelta(seconds=seconds))


async def test_a_stalled_loop_is_journalled_as_a_gap_shown_and_counted(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    assert d.plan.stall_s == 2.0  # 0.05 s probes: the floor
    try:
        await asyncio.sleep(3 * BEAT_S)
        before = h.clock()
        freeze(h, 2.5)
        gaps = await h.until(lambda: d.sup.gaps)
        [gap] = gaps
        assert gap.start <= before and gap.end == before + 2.5 * S
        assert await h.ask(lambda s: s.gaps()) == [gap]
        assert h.sample("slawatch_loop_stalls_total") == 1
        assert (
            h.sample("slawatch_unmonitored_seconds_total") == (gap.end - gap.start).total_seconds()
        )
    finally:
        await h.stop()
    again = await h.start()  # it survives a restart (a gap of the restart itself may follow)
    try:
        assert again.sup.gaps[0] == gap
    finally:
        await h.stop()


async def test_a_wall_clock_step_is_not_taken_for_a_stall_but_is_reported(
    tmp_path: Path,
) -> None:
    """Forward: the hour skipped is an unmonitored gap (the daemon never looked at it), and
    the step is counted and logged; back: no gap, counted and logged. No stall either way."""
    h = Harness(tmp_path, watch_clock=True)
    d = await h.start()
    try:
        await asyncio.sleep(3 * BEAT_S)
        before = h.clock()
        h.clock.advance(timedelta(hours=1))
        [gap] = await h.until(lambda: d.sup.gaps)
        assert gap == Interval(start=before, end=before + timedelta(hours=1))
        assert await h.ask(lambda s: s.gaps()) == [gap]
        h.clock.advance(timedelta(hours=-1))
        await h.until(lambda: h.sample("slawatch_clock_steps_total") == 2)
        await asyncio.sleep(4 * BEAT_S)
        assert d.sup.gaps == [gap]
        assert h.sample("slawatch_loop_stalls_total") == 0
    finally:
        await h.stop()
