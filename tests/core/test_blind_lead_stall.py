"""Found by a review of the 2026-12-02 changes: a circuit removed while blind, a node that
lost the lead, a stall judged by stale peer news. Each failed before its fix."""

from __future__ import annotations

from datetime import timedelta

from monitor.core.effects import Record
from monitor.core.facts import Unmonitored
from monitor.core.inputs import Peers, Reload, Stalled
from monitor.core.model import Interval
from monitor.core.supervisor import Supervisor
from tests.core import helpers as h
from tests.core.test_reload_blind_void import GW, control, customers, rounds
from tests.core.test_supervisor import FAULT, S, Story, circuit, plan

OTHER = "er-osaka-2"


def _blind_with_open_incident() -> Story:
    s = Story(plan(circuit(), circuit(OTHER), controls=(GW,)))
    rounds(s, 2, True, True)
    rounds(s, 3, False, True)  # CID's outage opens while the monitor sees: OPENED to FAULT
    assert customers(s) == [("opened", (FAULT,))]
    rounds(s, 3, False, False)  # blind
    assert s.sup.tracker.blind
    return s


def test_circuit_removed_while_blind_is_told_closed_when_sight_returns() -> None:
    s = _blind_with_open_incident()
    before = len(s.sends())
    s.feed(Reload(plan=plan(circuit(OTHER), controls=(GW,))))  # CID leaves the configuration
    # the contacts told OPENED hear it closed ("removed from monitoring", the operator's act,
    # not an observation) at once, as they do when the same reload happens while it sees
    assert customers(s, before) == [("recovered", (FAULT,))]
    for _ in range(3):
        control(s, True)
        s.now += S
    assert not s.sup.tracker.blind
    assert customers(s, before) == [("recovered", (FAULT,))]  # once


def test_reload_removing_circuit_and_the_down_control_at_once_tells_the_close() -> None:
    s = _blind_with_open_incident()
    before = len(s.sends())
    s.feed(Reload(plan=plan(circuit(OTHER))))  # no control target any more: sight at once
    assert not s.sup.tracker.blind
    assert customers(s, before) == [("recovered", (FAULT,))]


def test_a_node_that_lost_the_lead_sends_no_held_customer_notice() -> None:
    s = _blind_with_open_incident()
    s.travel(16 * h.MIN)  # the escalation group's OPENED is held
    assert len(s.sup.held) == 1
    s.sup.follow()  # this node lost the lead (the new leader owes from the journal)
    before = len(s.sends())
    for _ in range(3):
        control(s, True)
        s.now += S
    assert not s.sup.leading
    assert customers(s, before) == []  # a standby "sends nothing"


def test_stall_with_a_peer_whose_liveness_was_read_before_the_stall_records_a_gap() -> None:
    p = plan()
    sup = Supervisor(p, node="a")
    now = h.T0
    sup.start(now)
    sup.handle(Peers(live=("b",)), now)  # b's results were fresh at T0
    # the loop stalls 10 minutes; no news of b meanwhile (b may have died with us)
    gap = Interval(start=now, end=now + timedelta(minutes=10))
    out = sup.handle(Stalled(gap=gap, stepped=False), now + timedelta(minutes=10))
    facts = [f for e in out if isinstance(e, Record) for f in e.facts]
    assert any(isinstance(f, Unmonitored) for f in facts)


def test_control_the_same_removal_while_seeing_tells_the_close() -> None:
    """Passes: the baseline the first two findings depart from."""
    s = Story(plan(circuit(), circuit(OTHER), controls=(GW,)))
    rounds(s, 2, True, True)
    rounds(s, 3, False, True)
    before = len(s.sends())
    s.feed(Reload(plan=plan(circuit(OTHER), controls=(GW,))))
    assert customers(s, before) == [("recovered", (FAULT,))]
