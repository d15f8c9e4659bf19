"""Two NOC hosts in the supervisor (issue 13): the vantage rule over time, and a new leader.

Each test here failed on the runtime as the lead first wrote it (found end to end in
tests/e2e/test_two_nodes.py): a real outage seen by both raised a disagreement alert (the
peer's view arrives up to a second late), a cut-off standby raised none, a standby that took
the lead during an outage never opened it, and the end of an outage was this node's own first
answer even when the peer's came first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.effects import MetricName
from monitor.core.facts import ProbeEvidence
from monitor.core.inputs import Control, PeerPath, Peers, Probed, Resume
from monitor.core.model import Interval, PathKey, PathState, ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ClusterPlan, ControlPlan
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import BlindEnded, BlindStarted, Incident, IncidentClosed
from tests.core.helpers import CID, MIN, PATHS, T0
from tests.core.test_supervisor import NOC, S, Story, closed, opened, plan

CLUSTER = ClusterPlan(node="noc-a", lease_s=30, renew_s=5, fresh_s=3, news_s=1)
AGREE = timedelta(seconds=CLUSTER.agree_s)  # 5 s


def two(node: str = "noc-a", *, leading: bool = True) -> Story:
    s = Story()
    s.sup = Supervisor(replace(plan(), cluster=CLUSTER), node=node, leading=leading)
    return s


def news(
    state: PathState, since: datetime, node: str = "noc-b", keys: Sequence[PathKey] = PATHS
) -> Peers:
    return Peers(live=(node,), paths=tuple(PeerPath(node=node, path=k, state=state, since=since)
                                          for k in keys))  # fmt: skip


def test_agree_s_covers_a_probe_interval_and_two_news_periods() -> None:
    assert CLUSTER.agree_s == 3 + 2 * 1
    assert CLUSTER.alive_s > CLUSTER.news_s  # a live node never blinks stale between words


def test_a_real_outage_whose_peer_view_arrives_late_is_one_incident_and_no_alert() -> None:
    s = two()
    s.feed(news(PathState.UP, T0 - 60 * S))
    s.run(3, False)  # noc-a: all down; noc-b's word that it agrees is a second late
    s.feed(Peers(live=("noc-b",)))
    assert not s.sends(NoticeKind.DISAGREE) and not opened(s)
    s.feed(news(PathState.DOWN, T0 + S))
    [o] = opened(s)
    assert o.incident.start == T0 + S and not o.incident.single_vantage
    assert not s.sends(NoticeKind.DISAGREE)


def test_a_split_that_lasts_is_one_alert_to_the_noc() -> None:
    s = two()
    s.feed(news(PathState.UP, T0 - 60 * S))
    s.run(3, False)
    for _ in range(10):  # the news comes every second
        s.now += S
        s.feed(Peers(live=("noc-b",)))
    assert len(s.sends(NoticeKind.DISAGREE)) == 1 and not opened(s)
    assert not s.sends(NoticeKind.OPENED)


def test_a_standby_cut_off_from_the_paths_is_a_disagreement_too() -> None:
    s = two()
    s.run(3, True)  # noc-a sees every path up
    s.feed(news(PathState.DOWN, s.now))  # noc-b sees every path down
    for _ in range(int(AGREE / S) + 1):
        s.now += S
        s.feed(Peers(live=("noc-b",)))
    [alert] = s.sends(NoticeKind.DISAGREE)
    assert ("noc-b: active/primary", "down") in alert.notice.paths
    assert ("noc-a: active/primary", "up") in alert.notice.paths
    assert not opened(s) and not s.sends(NoticeKind.OPENED)


def test_a_standby_that_takes_the_lead_mid_outage_opens_it() -> None:
    standby = two("noc-b", leading=False)
    standby.run(4, False)  # it saw the outage; the leader died before opening it
    assert not opened(standby)
    leader = Supervisor(standby.sup.plan, Resume(), node="noc-b", leading=True)
    leader.adopt(standby.sup)
    effects = leader.start(standby.now) + leader.lead(Peers(live=()), standby.now)
    standby.effects += effects
    [o] = opened(standby)
    assert o.incident.start == T0 and o.incident.single_vantage
    assert standby.sends(NoticeKind.OPENED)


def test_a_new_leader_keeps_its_raw_results_as_the_outage_s_evidence() -> None:
    standby = two("noc-b", leading=False)
    standby.run(4, False)  # what it saw before the leader died is the evidence of the opening
    leader = Supervisor(standby.sup.plan, Resume(), node="noc-b", leading=True)
    leader.adopt(standby.sup)
    leader.start(standby.now)
    leader.lead(Peers(live=()), standby.now)
    [captured] = leader.evidence.due(standby.now + 6 * 60 * S)
    assert captured.reason == "opened" and captured.count == 4 * 4


def test_a_leader_that_stands_by_records_no_evidence_it_was_still_capturing() -> None:
    """Probe evidence is a leader's fact (written under its lease epoch). A node that lost
    the lead while a capture waited for its 5 minutes went on to journal it as a standby, with
    no epoch, so the journal could not refuse it (before the fix)."""
    s = two()
    s.run(3, False)
    [o] = opened(s)  # the capture of the opening waits until 5 minutes after the detection
    s.sup.follow()  # the lease lapsed (a pause, a cut from the journal): someone else leads
    s.travel(6 * 60 * S)
    s.run(1, False)
    assert not [f for f in s.facts() if isinstance(f, ProbeEvidence)]
    assert o.incident.id == 1


def test_a_new_leader_closes_an_incident_that_ended_while_no_one_led() -> None:
    standby = two("noc-b", leading=False)
    standby.run(3, False)
    standby.run(3, True)  # back up at T0 + 3 s, as this standby saw it
    left = Incident(id=7, circuit=CID, start=T0, detected=T0 + 2 * S)
    leader = Supervisor(standby.sup.plan, Resume(incidents=(left,)), node="noc-b")
    leader.adopt(standby.sup)
    standby.effects += leader.lead(Peers(live=()), standby.now)
    [c] = closed(standby)
    assert c.incident.id == 7 and c.incident.end == T0 + 3 * S


def test_a_peer_that_saw_the_end_first_moves_it_earlier() -> None:
    s = two()
    s.feed(news(PathState.DOWN, T0))
    s.run(3, False)
    [o] = opened(s)
    s.run(2, True)  # noc-a: back at T0 + 3 s
    [c] = closed(s)
    assert c.incident.end == T0 + 3 * S
    recovered = len(s.sends(NoticeKind.RECOVERED))
    s.feed(news(PathState.UP, T0 + 3 * S - S / 2, keys=PATHS[:1]))  # noc-b answered first
    amended = [f for f in closed(s) if isinstance(f, IncidentClosed) and f.amended]
    assert [a.incident.end for a in amended] == [T0 + 3 * S - S / 2]
    assert amended[0].incident.id == o.incident.id
    assert len(s.sends(NoticeKind.RECOVERED)) == recovered  # told once


GW = ControlPlan(name="noc-gw", address="gw")


def gateway(s: Story, ok: bool, n: int = 3) -> None:
    """``n`` results of this node's own control target, a second apart, from ``s.now``."""
    s.feed(Probed.of((Control(name="noc-gw"), ProbeResult(target="gw", at=s.now + i * S, ok=ok))
                     for i in range(n)))  # fmt: skip
    s.now += n * S


def test_a_blind_standby_that_takes_the_lead_tells_no_customer() -> None:
    """noc-b lost its own gateway and its links to the routers while noc-a, leading, saw
    every path up; then noc-a died. The journal's control state is noc-a's (up): a standby
    rebuilt from it forgot that it was blind, opened the outage on its own view and told the
    customer within milliseconds of leading (found end to end by an attack on two nodes)."""
    standby = two("noc-b", leading=False)
    standby.sup = Supervisor(replace(plan(controls=(GW,)), cluster=CLUSTER), node="noc-b",
                             leading=False)  # fmt: skip
    gateway(standby, False)
    standby.run(4, False)
    journal = Resume(controls={"noc-gw": (PathState.UP, T0 - 60 * S)})  # noc-a's, as written
    leader = Supervisor(standby.sup.plan, journal, node="noc-b", leading=True)
    leader.adopt(standby.sup)
    lead_at, standby.effects = standby.now, []  # what the leader does from here
    standby.effects += leader.start(lead_at) + leader.lead(Peers(live=()), lead_at)
    assert not opened(standby) and not standby.sends(NoticeKind.OPENED)
    [started] = [f for f in standby.facts() if isinstance(f, BlindStarted)]
    assert started.since == lead_at  # noc-a saw until it stopped leading
    [blind] = standby.sends(NoticeKind.BLIND)
    assert blind.recipients == (NOC,) and leader.tracker.blind_since == lead_at
    standby.sup = leader
    gateway(standby, True, 2)  # sight back, the paths still down: the outage opens now
    [o] = opened(standby)
    assert o.incident.start == T0 + 3 * S and o.incident.detected == standby.now - S


def test_a_new_leader_that_sees_continues_no_blind_spell_and_ends_the_journal_s() -> None:
    standby = two("noc-b", leading=False)
    standby.sup = Supervisor(replace(plan(controls=(GW,)), cluster=CLUSTER), node="noc-b",
                             leading=False)  # fmt: skip
    gateway(standby, True, 2)
    standby.run(3, True)
    spell = Interval(start=T0 - 60 * S)  # noc-a was blind when it died
    journal = Resume(controls={"noc-gw": (PathState.DOWN, T0 - 60 * S)}, blind=(spell,))
    leader = Supervisor(standby.sup.plan, journal, node="noc-b", leading=True)
    leader.adopt(standby.sup)
    standby.effects += leader.start(standby.now) + leader.lead(Peers(live=()), standby.now)
    assert not leader.tracker.blind and leader.tracker.blind_since is None
    [ended] = [f for f in standby.facts() if isinstance(f, BlindEnded)]
    assert ended.interval == Interval(start=spell.start, end=standby.now)
    assert not [f for f in standby.facts() if isinstance(f, BlindStarted)]


def test_a_standby_started_during_an_open_incident_owes_nothing() -> None:
    """The journal holds an incident open (noc-a's); noc-b starts, standing by. Its ledger
    tracked the incident as a leader's does: at its start it owed the opened notice, whose
    outbox write under no lease was refused, and the refusal, landing just after this node
    took a free lease, stopped its lead for a renewal (5 s) and dropped its first notices
    (tests/store/test_breach_told_late.py's log); 30 minutes on, it counted a breach of the
    leader's deadline and logged it as an error (before the fix)."""
    left = Incident(id=7, circuit=CID, start=T0, detected=T0 + 2 * S)
    s = Story()
    s.sup = Supervisor(replace(plan(), cluster=CLUSTER), Resume(incidents=(left,)), node="noc-b",
                       leading=False)  # fmt: skip
    s.effects = s.sup.start(s.now)
    s.run(3, False)
    s.travel(40 * MIN)
    assert s.sends() == [] and not s.metric(MetricName.BREACHES)
    assert s.sup.pending() == []
