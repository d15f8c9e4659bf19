"""Outages that wait on control targets in doubt (core/doubt.py, SLA.md §6.2, §6.5): each
test failed on the first version of the wait (a review found them)."""

from __future__ import annotations

from datetime import timedelta

from monitor.core.circuits import CircuitSpec
from monitor.core.inputs import Control, Probed, Reload, Tick
from monitor.core.model import PathState, ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ControlPlan
from monitor.core.supervisor import REMOVED
from monitor.core.tracker import (
    Event,
    Incident,
    IncidentClosed,
    IncidentOpened,
    OutageWaiting,
    Tracker,
)
from monitor.core.vantage import Vantage
from tests.core.helpers import AP, CID, MIN, PATHS, T0, S, feed, tracker
from tests.core.test_supervisor import FAULT, Story, circuit, plan, probes

MS = timedelta(milliseconds=1)


def opened(events: list[Event]) -> list[Incident]:
    return [e.incident for e in events if isinstance(e, IncidentOpened)]


def closed(events: list[Event]) -> list[Incident]:
    return [e.incident for e in events if isinstance(e, IncidentClosed)]


def test_a_path_back_and_down_again_while_waiting_is_two_outages() -> None:
    """Paths down (confirmed at 3 s, start 1 s) while gw is in doubt; AP comes back at 3.1 s
    (up), then all go down again from 3.3 s; gw answers at 5.6 s. The circuit was available
    from 3.1 s to 3.3 s: no incident may cover that time (SLA.md 6.2; the first wait made
    one outage of the two)."""
    t = tracker(controls=["gw"])
    events: list[Event] = []
    for i in range(4):  # paths fail from 1 s; gw ok at 0.6, 1.6, fails at 2.6
        events += feed(t, T0 + i * S, i < 1)
        if i < 3:
            events += t.observe_control("gw", T0 + i * S + 600 * MS, i < 2)
    assert opened(events) == []  # waiting
    events += t.observe(AP, T0 + 3100 * MS, True)
    events += t.observe(AP, T0 + 3200 * MS, True)  # AP up since 3.1 s
    for k in range(3):  # AP fails again from 3.3 s: all down again at 3.5 s
        events += t.observe(AP, T0 + 3300 * MS + k * 100 * MS, False)
    events += t.observe_control("gw", T0 + 5600 * MS, True)  # gw answers: not blind
    found = opened(events)
    ends = {i.id: i.end for i in closed(events)}
    back, again = T0 + 3100 * MS, T0 + 3300 * MS
    for i in found:
        end = ends.get(i.id)
        covers = i.start < again and (end is None or end > back)
        assert not covers, (i, end)
    first, second = found
    assert (first.start, ends[first.id]) == (T0 + S, back)
    assert second.start == again and second.id not in ends


def test_blindness_that_came_and_went_while_waiting_opens_the_outage_at_sight() -> None:
    """gw1 in doubt when the paths are confirmed down (3 s); gw2, also failing, goes down
    (blind from 2.6 s), then answers again (sight at 6.6 s, confirmed 7.6 s); gw1 answers
    last (8.7 s). The paths were all down while blind: §6.5 opens the outage when sight
    returned, detected then (the first wait opened it as detected at 3 s, inside the
    blind spell)."""
    t = tracker(controls=["gw1", "gw2"])
    events: list[Event] = []
    for i in range(4):
        events += feed(t, T0 + i * S, i < 1)
        if i < 3:
            events += t.observe_control("gw1", T0 + i * S + 700 * MS, i < 2)  # fails 2.7
        events += t.observe_control("gw2", T0 + i * S + 600 * MS, i < 2)  # fails 2.6
    assert opened(events) == [] and not t.blind
    events += t.observe_control("gw2", T0 + 4600 * MS, False)  # third failure: down
    assert t.blind and t.blind_since == T0 + 2600 * MS
    for i in range(5, 9):
        events += feed(t, T0 + i * S, False)
    events += t.observe_control("gw2", T0 + 6600 * MS, True)
    events += t.observe_control("gw2", T0 + 7600 * MS, True)  # sight again from 6.6 s
    assert not t.blind
    events += t.observe_control("gw1", T0 + 8700 * MS, True)  # gw1 answers at last
    [incident] = opened(events)
    spans = t.blind_spans()
    assert spans and spans[0].start == T0 + 2600 * MS
    for span in spans:
        assert not (span.start <= incident.detected < span.end), (incident, span)


def test_blindness_that_began_after_the_detection_keeps_the_detection() -> None:
    """gw1 in doubt at the paths' confirmation (3.0 s); gw2 begins failing at 3.6 s, after
    it, and goes down (blind from 3.6 s); gw1 answers at 3.7 s. The monitor saw at 3.0 s
    (gw2's failures began later, gw1 answered): the outage was detected at 3.0 s, before the
    blindness, and opens with that detection (the first wait dropped it and opened it when
    sight returned, detected then: the 30-minute deadline started late)."""
    t = tracker(controls=["gw1", "gw2"])
    events: list[Event] = []
    for i in range(4):
        events += feed(t, T0 + i * S, i < 1)
        if i < 3:
            events += t.observe_control("gw1", T0 + i * S + 700 * MS, i < 2)  # fails 2.7
            events += t.observe_control("gw2", T0 + i * S + 600 * MS, True)
    assert opened(events) == [] and not t.blind
    events += t.observe_control("gw2", T0 + 3600 * MS, False)
    events += t.observe_control("gw2", T0 + 3610 * MS, False)
    events += t.observe_control("gw2", T0 + 3620 * MS, False)  # down, since 3.6 s
    assert t.blind and t.blind_since == T0 + 3600 * MS
    events += t.observe_control("gw1", T0 + 3700 * MS, True)
    for k in range(2):
        events += t.observe_control("gw2", T0 + (20 + k) * S, True)  # sight from 20 s
    for i in range(4, 25):
        events += feed(t, T0 + i * S, False)
    [incident] = opened(events)
    assert incident.detected == T0 + 3 * S, incident


def noc_a_confirms(doubt: bool) -> tuple[Tracker, list[Event]]:
    """noc-a and noc-b (live) both see the circuit down from 1 s; noc-a confirms at 3 s, its
    gw in doubt then (its 2.6 s echo lost) or not."""
    t = Tracker([CircuitSpec(id=CID, paths=PATHS)], controls=["gw"],
                vantage=Vantage("noc-a"))  # fmt: skip
    events = list(t.peers_live(["noc-b"], T0))
    for p in PATHS:
        events += t.peer_seen("noc-b", p, PathState.DOWN, T0 + S, T0)
    for i in range(4):
        events += feed(t, T0 + i * S, i < 1)
        if i < 3:
            events += t.observe_control("gw", T0 + i * S + 600 * MS, not doubt or i < 2)
    return t, events


def test_a_peer_seeing_a_path_answer_while_waiting_closes_the_outage() -> None:
    """Two NOC hosts. Both see the circuit down (noc-a confirms at 3 s, start 1 s) while
    noc-a's gw is in doubt; at 3.2 s noc-b's news says a path answers since 3.1 s. Without the
    wait the incident opened at 3 s closes at 3.1 s (the intersection of the live views,
    vantage.py); so it must with the wait (the first one opened it from noc-a's own view
    alone, and nothing closed it while a live peer saw the circuit up)."""
    t, events = noc_a_confirms(doubt=True)
    assert opened(events) == []  # waiting on gw
    [w] = [e for e in events if isinstance(e, OutageWaiting)]  # journalled: doubt.py
    assert (w.start, w.detected, w.end) == (T0 + S, T0 + 3 * S, None)
    events += t.peer_seen("noc-b", AP, PathState.UP, T0 + 3100 * MS, T0 + 3200 * MS)
    ended = [e for e in events if isinstance(e, OutageWaiting)][1:2]
    assert [w.end for w in ended] == [T0 + 3100 * MS]  # for a new leader to resume
    events += t.observe_control("gw", T0 + 3600 * MS, True)
    ends = {i.id: i.end for i in closed(events)}
    [incident] = opened(events)
    assert ends.get(incident.id) == T0 + 3100 * MS, (incident, ends, t.open_incident(CID))


def two_hosts(doubt: bool) -> list[Event]:
    """noc-a and noc-b both see the circuit down from 1 s; noc-a confirms at 3 s (gw in
    doubt or not); noc-b's news: AP answers since 3.1 s (at 3.2 s), AP down again since
    3.3 s (at 3.5 s); gw answers at 3.6 s."""
    t, events = noc_a_confirms(doubt)
    events += t.peer_seen("noc-b", AP, PathState.UP, T0 + 3100 * MS, T0 + 3200 * MS)
    events += t.peer_seen("noc-b", AP, PathState.DOWN, T0 + 3300 * MS, T0 + 3500 * MS)
    events += t.observe_control("gw", T0 + 3600 * MS, True)
    return events


def spans(events: list[Event]) -> list[tuple[object, object]]:
    ends = {i.id: i.end for i in closed(events)}
    return [(i.start, ends.get(i.id)) for i in opened(events)]


def test_a_peers_path_back_and_down_again_while_waiting_is_two_outages() -> None:
    """The live views' intersection (vantage.py) is available from 3.1 s to 3.3 s (noc-b
    saw AP answer). Without doubt on gw, that is two incidents, [1 s, 3.1 s) and from 3.3 s;
    with gw in doubt at noc-a's confirmation, the wait must give the same (SLA.md 6.2; the
    second version of the wait made one outage of the two, a second review found)."""
    plain = spans(two_hosts(doubt=False))
    assert plain == [(T0 + S, T0 + 3100 * MS), (T0 + 3300 * MS, None)], plain
    waited = spans(two_hosts(doubt=True))
    assert waited == plain, waited


GW = ControlPlan(name="gw", address="192.0.2.1")
OSAKA = circuit("er-osaka-2")


def gw(s: Story, ok: bool) -> None:
    at = s.now + 600 * MS
    s.feed(Probed.of([(Control(name="gw"), ProbeResult(target="gw", at=at, ok=ok))]))


def waits(s: Story) -> None:
    """Paths down from 2 s, confirmed at 4 s while gw is in doubt (its 3.6 s echo lost)."""
    for i in range(5):
        s.feed(probes(s.now, i < 2))
        if i < 4:
            gw(s, i != 3)
        s.feed(Tick())
        s.now += S
    assert not opened_in(s)


def opened_in(s: Story) -> list[Incident]:
    return [f.incident for f in s.facts() if isinstance(f, IncidentOpened)]


def closed_in(s: Story) -> list[Incident]:
    return [f.incident for f in s.facts() if isinstance(f, IncidentClosed)]


def told(s: Story) -> list[tuple[NoticeKind, bool]]:
    return [(x.notice.kind, x.notice.removed) for x in s.sends() if FAULT in x.recipients]


def test_a_circuit_removed_while_its_outage_waits_has_it_opened_then_ended() -> None:
    """A reload removes the circuit at 5 s, its outage (start 2 s, detected 4 s) waiting on
    gw. It was lost, notices and all (the wait kept it for a circuit no longer tracked). The
    monitor was not blind at the removal: the outage opens with its own start and detection
    and the removal ends it, as it ends any open incident (told: opened, monitoring ended)."""
    s = Story(plan(circuit(), OSAKA, controls=(GW,)))
    waits(s)
    removed = s.now
    s.feed(Reload(plan=plan(OSAKA, controls=(GW,))))
    gw(s, True)
    s.travel(MIN)
    [o] = opened_in(s)
    assert (o.start, o.detected) == (T0 + 2 * S, T0 + 4 * S)
    [c] = closed_in(s)
    assert (c.id, c.end, c.closed_reason) == (o.id, removed, REMOVED)
    assert told(s) == [(NoticeKind.OPENED, False), (NoticeKind.RECOVERED, True)]


def test_a_circuit_removed_after_a_path_came_back_while_its_outage_waited() -> None:
    """AP answers from 5 s (up at 6 s) while the outage waits on gw; a reload removes the
    circuit at 7 s. The outage [2 s, 5 s) was over before the removal: it opens and closes
    as it would have when gw answered, and the contacts hear of both (it was lost)."""
    s = Story(plan(circuit(), OSAKA, controls=(GW,)))
    waits(s)
    s.run(2, {k: k == AP for k in PATHS})
    s.feed(Reload(plan=plan(OSAKA, controls=(GW,))))
    s.travel(MIN)
    [o] = opened_in(s)
    assert (o.start, o.detected) == (T0 + 2 * S, T0 + 4 * S)
    [c] = closed_in(s)
    assert (c.id, c.end, c.closed_reason) == (o.id, T0 + 5 * S, None)
    assert told(s) == [(NoticeKind.OPENED, False), (NoticeKind.RECOVERED, False)]
