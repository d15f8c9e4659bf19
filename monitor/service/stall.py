"""The event loop's watchdog: a stall of the loop is an unmonitored gap.

A frozen VM, a long garbage-collector pause, a stuck system call or a SIGSTOP stop the whole
daemon while it still runs: no probe goes out, and those owed go out late once it runs again,
so an outage's start or end would be recorded late with nothing to say that the monitor was
not looking. A small task wakes every :data:`BEAT_S` seconds and tells a :class:`StallWatch`;
when more than the threshold (``Plan.stall_s``: twice the shortest probe interval, at least
2 s) passed between two wake-ups on the event loop's **monotonic** clock, the loop stalled,
and the gap runs from the wall time of the last wake-up (the last moment the loop was known
to run) to that of this one. A step of the wall clock alone (NTP, a resumed VM's clock set)
is not a stall: only the monotonic clock decides.

Steps of the wall clock are watched too, as the change between two wake-ups of the offset
between the two clocks (NTP slews by at most 0.5 ms a second, so anything over
:data:`STEP_S` is a step). Which side of a step told the truth the daemon cannot know, and
durations that straddle one are wrong by it, so a step is reported (logged at ERROR, counted
in ``slawatch_clock_steps_total``) for the NOC to review the evidence around it. A step
*forward* also skips wall time the daemon never looked at: it is an unmonitored gap, like a
stall (also what a host suspended and resumed looks like: its monotonic clock stops). A step
*back* leaves no gap, but until the wall clock has caught up with the last result's time each
path's new results are older than it and are dropped as stale: the
``SlawatchProbeResultsDropped`` alert fires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.model import Interval

STEP_S = 1.0
"""A change of the wall clock against the monotonic one, seconds, taken for a step."""
BEAT_S = 0.25
"""How often the watchdog wakes (seconds): a gap's start is the last wake-up before the
stall, so it may begin up to this much before the loop really stopped."""


class StallWatch:
    """Remembers when the loop last ran, on both clocks; see the module docstring."""

    def __init__(
        self, threshold_s: float, *, mono: float, wall: datetime, steps: bool = True
    ) -> None:
        """``steps``: watch for steps of the wall clock (off for a scripted clock, whose
        jumps stand for time passing)."""
        self.threshold_s = threshold_s
        self._mono, self._wall = mono, wall
        self._steps = steps
        self.step_s = 0.0
        """The wall clock's step found by the last ``ran`` (seconds, + forward), or 0."""
        self.stepped = False
        """Whether the gap the last ``ran`` returned is a step forward, not a stall."""

    def ran(self, mono: float, wall: datetime) -> Interval | None:
        """The loop ran at ``mono`` (the loop's monotonic clock, seconds) and ``wall`` (aware
        UTC). The gap since the last call when more than ``threshold_s`` passed on the
        monotonic clock, else None. If the wall clock was stepped back during the stall, the
        gap is the stall's monotonic length ending at ``wall``."""
        elapsed, last = mono - self._mono, self._wall
        self._mono, self._wall = mono, wall
        step = (wall - last).total_seconds() - elapsed
        self.step_s = step if self._steps and abs(step) > STEP_S else 0.0
        self.stepped = self.step_s > 0 and elapsed <= self.threshold_s
        if self.stepped:  # wall time skipped, never looked at: a gap
            return Interval(start=last, end=wall)
        if elapsed <= self.threshold_s:
            return None
        start = last if last < wall else wall - timedelta(seconds=elapsed)
        return Interval(start=start, end=wall)
