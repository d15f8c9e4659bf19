"""A stall of the daemon's event loop (the shell's watchdog says so: ``Stalled``) is an
unmonitored gap, recorded and reported as the gaps found at a start are. Time stepped by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.core.assess import assess
from monitor.core.effects import Log, Metric, MetricName, Record
from monitor.core.errors import InputError
from monitor.core.facts import Unmonitored
from monitor.core.inputs import Stalled
from monitor.core.model import Interval
from monitor.core.plan import STALL_MIN_S, ControlPlan
from monitor.core.report import month_report
from monitor.core.tracker import Incident
from tests.core.helpers import CID, T0
from tests.core.test_supervisor import Story, circuit, closed, opened, plan
from tests.core.test_two_hosts import two

S = timedelta(seconds=1)
STALL = 12 * S


def stall(s: Story, length: timedelta = STALL) -> Interval:
    """The loop stops now and runs again ``length`` later (nothing is fed meanwhile)."""
    gap = Interval(start=s.now, end=s.now + length)
    s.now += length
    s.feed(Stalled(gap=gap))
    return gap


def test_a_stall_is_recorded_as_a_gap_and_counted() -> None:
    s = Story()
    s.run(3, True)
    gap = Interval(start=s.now, end=s.now + STALL)
    out = s.feed(Stalled(gap=gap))
    assert out[0] == Record(facts=(Unmonitored(gap=gap),))  # journalled before anything else
    assert Metric(name=MetricName.STALLS) in out
    assert Metric(name=MetricName.UNMONITORED, value=12.0) in out
    assert any(isinstance(e, Log) and "stalled 12.0 s" in e.text for e in out)
    assert s.sup.gaps == [gap]


def test_an_outage_that_ends_in_a_stall_ends_at_the_first_success_sent_after_it() -> None:
    s = Story()
    s.run(3, True)
    s.run(3, False)
    [incident] = [o.incident for o in opened(s)]
    gap = stall(s)  # the circuit came back 1 s into it: unseen
    first_after = s.now
    s.run(2, True)  # the probes owed, sent late: their own send times
    [end] = [c.incident for c in closed(s)]
    assert end.id == incident.id and end.end == first_after  # not moved into the gap
    a = assess(end, s.sup.terms(CID), now=s.now, gaps=s.sup.gaps)
    assert a.gaps == (gap,) and a.gap_s == 12.0  # beside it: never counted as up or down
    assert a.duration_s == (first_after - incident.start).total_seconds()


def test_an_outage_that_starts_in_a_stall_has_the_gap_beside_it() -> None:
    s = Story()
    s.run(3, True)
    gap = stall(s)  # cut 1 s into it: unseen
    first_after = s.now
    s.run(3, False)
    [incident] = [o.incident for o in opened(s)]
    assert incident.start == first_after  # not backdated into time nobody looked at
    a = assess(incident, s.sup.terms(CID), now=s.now, gaps=s.sup.gaps)
    assert a.gaps == (gap,)  # it may have begun in the gap...
    assert a.gap_s == 0.0  # ...whose time is not counted as down


def test_a_run_of_failures_across_a_stall_keeps_its_first_failure() -> None:
    """Results are real wherever they fall: two failures before, one after the stall make
    three in a row, and the outage starts at the first of them."""
    s = Story()
    s.run(3, True)
    cut = s.now
    s.run(2, False)
    gap = stall(s)
    s.run(1, False)
    [incident] = [o.incident for o in opened(s)]
    assert incident.start == cut
    a = assess(incident, s.sup.terms(CID), now=s.now, gaps=s.sup.gaps)
    assert a.gaps == (gap,) and a.gap_s > 0


def test_a_gap_is_beside_an_outage_starting_within_one_probe_interval_after_it() -> None:
    gap = Interval(start=T0, end=T0 + 10 * S)
    t = replace(Story().sup.terms(CID), probe_interval_s=2.0)  # 2 s probes

    def beside(start_after_gap: timedelta) -> bool:
        start = T0 + 10 * S + start_after_gap
        i = Incident(id=1, circuit=CID, start=start, detected=start + 3 * S, end=start + 60 * S)
        return assess(i, t, now=start + 90 * S, gaps=[gap]).gaps == (gap,)

    assert beside(timedelta(0)) and beside(2 * S)
    assert not beside(2 * S + timedelta(microseconds=1))
    assert beside(-S)  # starts inside it
    untimed = replace(t, probe_interval_s=0.0)  # an old caller: only a gap that touches
    i = Incident(id=1, circuit=CID, start=T0 + 11 * S, detected=T0 + 14 * S, end=T0 + 70 * S)
    assert assess(i, untimed, now=T0 + 90 * S, gaps=[gap]).gaps == ()


def test_the_month_report_shows_a_gap_that_ended_just_before_an_outage() -> None:
    gap = Interval(start=T0, end=T0 + 10 * S)
    t = Story().sup.terms(CID)
    i = Incident(id=1, circuit=CID, start=gap.end + S / 2, detected=gap.end + 3 * S,
                 end=gap.end + 60 * S)  # fmt: skip
    report = month_report("2026-10", incidents=[i], terms={CID: t}, now=T0 + 120 * S, gaps=[gap])
    [entry] = report.circuits[0].entries
    assert entry.assessment.gaps == (gap,)


def test_a_stall_while_another_noc_host_monitors_is_no_gap() -> None:
    """The shell asks the journal when the loop runs again (``covered``): the peers' news
    from before the stall would be stale (they may have frozen with us)."""
    s = two()
    out = s.feed(Stalled(gap=Interval(start=T0, end=T0 + STALL), covered=True))
    assert not [e for e in out if isinstance(e, Record)]
    assert Metric(name=MetricName.STALLS) in out
    assert s.sup.gaps == []


def test_a_stall_needs_a_closed_forward_gap() -> None:
    with pytest.raises(InputError):
        Stalled(gap=Interval(start=T0))
    with pytest.raises(InputError):
        Stalled(gap=Interval(start=T0, end=T0))


def test_the_stall_threshold_is_two_shortest_intervals_and_at_least_two_seconds() -> None:
    assert plan().stall_s == STALL_MIN_S == 2.0  # 1 s probes
    slow = replace(circuit(), interval_s=5.0)
    assert plan(slow).stall_s == 10.0
    assert plan(slow, controls=(ControlPlan(name="gw", address="x", interval_s=3.0),)).stall_s == 6
    assert plan(replace(circuit(), interval_s=0.2)).stall_s == 2.0
