"""Properties over random probe streams (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.assess import assess, month_totals
from monitor.core.model import PathKey
from monitor.core.tracker import (
    Event,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    OutageWaiting,
    Tracker,
)
from tests.core.helpers import CID, PATHS, T0, terms, tracker

STEP = timedelta(minutes=7)

# a stream: per tick, one bool per path, one for the control target, and a notice flag
ticks = st.lists(
    st.tuples(st.tuples(*[st.booleans()] * 4), st.booleans(), st.booleans()),
    min_size=1,
    max_size=150,
)
thresholds = st.tuples(st.integers(1, 4), st.integers(1, 4))
# as ``ticks``, the paths often all failing or all answering together (a circuit down)
together = st.sampled_from([(False,) * 4, (True,) * 4])
circuit_ticks = st.lists(
    st.tuples(together | st.tuples(*[st.booleans()] * 4), st.booleans(), st.booleans()),
    min_size=1,
    max_size=150,
)


def drive(t: Tracker, stream: list, start: int = 0) -> list[Event]:  # type: ignore[type-arg]
    events: list[Event] = []
    for i, (oks, control, notice) in enumerate(stream, start):
        at = T0 + i * STEP
        events.extend(t.observe_control("gw", at, control))
        for path, ok in zip(PATHS, oks, strict=True):
            events.extend(t.observe(path, at, ok))
        if notice:
            events.extend(t.notified(CID, at))
    return events


def incidents(events: list[Event]) -> dict[int, object]:
    out: dict[int, object] = {}
    for e in events:
        if isinstance(e, IncidentOpened | IncidentClosed | IncidentNotified):
            out[e.incident.id] = e.incident
    return out


@settings(max_examples=200, deadline=None)
@given(ticks, thresholds)
def test_incidents_never_overlap_or_go_negative(stream: list, th: tuple[int, int]) -> None:  # type: ignore[type-arg]
    t = tracker(*th, controls=["gw"])
    found = list(incidents(drive(t, stream)).values())
    now = T0 + len(stream) * STEP
    spans = []
    for i in found:
        a = assess(i, terms(), now=now, blind=t.blind_spans())  # type: ignore[arg-type]
        assert a.duration_s >= 0 and 0 <= a.counted_s <= a.duration_s
        assert 0 <= a.blind_s <= a.duration_s
        assert i.end is None or i.end >= i.start  # type: ignore[attr-defined]
        assert i.detected >= i.start  # type: ignore[attr-defined]
        spans.append((i.start, i.end or now))  # type: ignore[attr-defined]
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    assert sum(i.end is None for i in found) <= 1  # type: ignore[attr-defined]
    for m in month_totals([assess(i, terms(), now=now) for i in found], {CID: terms()}):  # type: ignore[arg-type]
        assert 0 <= m.credit <= 1 and m.credit_yen <= m.fee_yen


@settings(max_examples=300, deadline=None)
@given(ticks, thresholds)
def test_no_outage_is_detected_while_the_monitor_was_blind(
    stream: list, th: tuple[int, int]
) -> None:  # type: ignore[type-arg]
    """§6.5 with blindness backdated as a path's ``down`` is: an outage confirmed while the
    control target's failures were not yet enough to call it down waits for its next
    results, and is not opened if the monitor turns out to have been blind then."""
    t = tracker(*th, controls=["gw"])
    found = incidents(drive(t, stream)).values()
    for i in found:
        detected = i.detected  # type: ignore[attr-defined]
        for span in t.blind_spans():
            assert not span.start <= detected < (span.end or detected + STEP), (i, span)


@settings(max_examples=150, deadline=None)
@given(ticks, thresholds, st.data())
def test_result_does_not_depend_on_how_the_stream_is_split(
    stream: list,
    th: tuple[int, int],  # type: ignore[type-arg]
    data: st.DataObject,
) -> None:
    whole = incidents(drive(tracker(*th, controls=["gw"]), stream))
    cut = data.draw(st.integers(0, len(stream)))
    t = tracker(*th, controls=["gw"])
    parts = drive(t, stream[:cut]) + drive(t, stream[cut:], start=cut)
    assert incidents(parts) == whole


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*[st.booleans()] * 4), min_size=1, max_size=120), thresholds, st.data())
def test_restart_keeps_open_incidents_and_loses_none(
    stream: list,
    th: tuple[int, int],  # type: ignore[type-arg]
    data: st.DataObject,
) -> None:
    plain = [(oks, True, False) for oks in stream]
    whole = incidents(drive(tracker(*th, controls=["gw"]), plain))
    cut = data.draw(st.integers(0, len(plain)))
    first = tracker(*th, controls=["gw"])
    before = incidents(drive(first, plain[:cut]))
    # a restart: a fresh tracker rebuilt from what the journal holds (states, incidents)
    second = tracker(*th, controls=["gw"])
    for p in PATHS:
        second.restore_path(p, *first.path_state(p))
    second.restore_control("gw", *first.control_state("gw"))
    for i in first.incidents(CID):
        second.restore_incident(i)
    after = incidents(drive(second, plain[cut:], start=cut))
    for iid, inc in before.items():
        assert whole[iid].start == inc.start  # type: ignore[attr-defined]
        resumed = after.get(iid, inc)
        # an incident open at the restart keeps its start; the run in progress is forgotten,
        # so its end can only come later, never earlier
        assert resumed.start == inc.start  # type: ignore[attr-defined]
        w_end, r_end = whole[iid].end, resumed.end  # type: ignore[attr-defined]
        if w_end is not None and r_end is not None:
            assert r_end >= w_end
    assert set(before) <= set(whole)


def restarted(first: Tracker, events: list[Event], th: tuple[int, int]) -> Tracker:
    """A fresh tracker rebuilt from what the journal holds of ``first`` (``events``): path and
    control states, incidents, the blind spell, the outages still waiting (their latest
    state), as a start does (restore.py)."""
    second = tracker(*th, controls=["gw"])
    for p in PATHS:
        second.restore_path(p, *first.path_state(p))
    second.restore_control("gw", *first.control_state("gw"))
    for i in first.incidents(CID):
        second.restore_incident(i)
    latest = {(f.start, f.detected): f for f in events if isinstance(f, OutageWaiting)}
    second.restore_waiting(f for f in latest.values() if f.seen is None)
    second.afresh_unopened()
    return second


@settings(max_examples=300, deadline=None)
@given(circuit_ticks, thresholds, st.data())
def test_a_restart_loses_no_outage_confirmed_before_it_unless_blind(
    stream: list,
    th: tuple[int, int],  # type: ignore[type-arg]
    data: st.DataObject,
) -> None:
    """Every outage confirmed before a restart is an incident, with its own start and
    detection, before or after it, unless the monitor was blind at its detection: one
    waiting on the control target at the restart (doubt.py) was lost, or opened later with
    another start."""
    whole = incidents(drive(tracker(*th, controls=["gw"]), stream))
    cut = data.draw(st.integers(0, len(stream)))
    first = tracker(*th, controls=["gw"])
    events = drive(first, stream[:cut])
    second = restarted(first, events, th)
    events += [*second.decide_waiting(), *drive(second, stream[cut:], start=cut)]
    kept = {(i.start, i.detected) for i in incidents(events).values()}  # type: ignore[attr-defined]
    blind = first.blind_spans() + second.blind_spans()
    for i in whole.values():
        start, detected = i.start, i.detected  # type: ignore[attr-defined]
        if detected >= T0 + cut * STEP:
            continue
        seen_blind = any(b.start <= detected < (b.end or detected + STEP) for b in blind)
        assert (start, detected) in kept or seen_blind, (i, kept, blind)


def test_path_key_round_trip() -> None:
    for p in PATHS:
        assert PathKey.parse(CID, p.name) == p
