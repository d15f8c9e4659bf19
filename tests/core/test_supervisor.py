"""The supervisor through whole stories, time stepped by hand (``now += TICK``), no event loop.

Each story feeds inputs as the shell would and reads the effects back: what is recorded,
what is sent to whom, which series change. The shell only carries these out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import Group, policy_groups
from monitor.core.effects import Effect, Metric, MetricName, Record, Send
from monitor.core.inputs import (
    Control,
    Delivered,
    Excluded,
    PeerPath,
    Peers,
    Probed,
    Reload,
    Resume,
    SnmpReading,
    SnmpSeen,
    Tick,
    WindowAdded,
)
from monitor.core.model import Announced, MaintenanceWindow, PathKey, PathState, ProbeResult
from monitor.core.notices import Delivery, NoticeKind
from monitor.core.plan import CircuitPlan, ControlPlan, NotifyPlan, PathPlan, Plan
from monitor.core.supervisor import REMOVED, Supervisor
from monitor.core.tracker import (
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    PathChanged,
)
from tests.core.helpers import CID, MIN, PATHS, T0, TOKYO

S = timedelta(seconds=1)
FAULT = "fault@cust.example"
BOSS = "boss@cust.example"
NOC = "noc@carrier.example"


def circuit(cid: str = CID, addresses: Sequence[str] = ("a", "b", "c", "d")) -> CircuitPlan:
    paths = tuple(
        PathPlan(key=replace(k, circuit=cid), address=f"{cid}-{a}")
        for k, a in zip(PATHS, addresses, strict=True)
    )
    groups = policy_groups([FAULT], [Group(name="escalation", after=15 * MIN, recipients=(BOSS,))])
    terms = CircuitTerms(circuit=cid, fee_yen=300_000, tz=TOKYO)
    return CircuitPlan(id=cid, paths=paths, terms=terms, groups=groups, interval_s=1.0)


def plan(*circuits: CircuitPlan, controls: tuple[ControlPlan, ...] = ()) -> Plan:
    return Plan(
        circuits=circuits or (circuit(),),
        controls=controls,
        notify=NotifyPlan(noc=(NOC,), warn_before=10 * MIN, reminder_every=60 * MIN),
    )


def probes(at: datetime, ok: bool | dict[PathKey, bool], keys: Sequence[PathKey] = PATHS) -> Probed:
    def result(k: PathKey) -> ProbeResult:
        good = ok[k] if isinstance(ok, dict) else ok
        return ProbeResult(target=k.name, at=at, ok=good, rtt=0.001 if good else None)

    return Probed.of((k, result(k)) for k in keys)


class Story:
    """A supervisor and a hand-stepped clock; ``effects`` keeps everything returned."""

    def __init__(
        self, p: Plan | None = None, resume: Resume | None = None, now: datetime = T0
    ) -> None:
        self.now = now
        self.sup = Supervisor(p or plan(), resume)
        self.effects: list[Effect] = list(self.sup.start(self.now))

    def feed(self, event: object) -> list[Effect]:
        out = self.sup.handle(event, self.now)  # type: ignore[arg-type]
        self.effects += out
        return out

    def run(
        self, seconds: int, ok: bool | dict[PathKey, bool], keys: Sequence[PathKey] = PATHS
    ) -> None:
        """One round of results per second for ``seconds`` seconds, ticking the ledger."""
        for _ in range(seconds):
            self.feed(probes(self.now, ok, keys))
            self.feed(Tick())
            self.now += S

    def travel(self, delta: timedelta) -> list[Effect]:
        self.now += delta
        return self.feed(Tick())

    def facts(self) -> list[object]:
        return [f for e in self.effects if isinstance(e, Record) for f in e.facts]

    def sends(self, kind: NoticeKind | None = None) -> list[Send]:
        out = [e for e in self.effects if isinstance(e, Send)]
        return [s for s in out if kind is None or s.notice.kind is kind]

    def metric(self, name: MetricName) -> list[Metric]:
        return [e for e in self.effects if isinstance(e, Metric) and e.name is name]


def opened(story: Story) -> list[IncidentOpened]:
    return [f for f in story.facts() if isinstance(f, IncidentOpened)]


def closed(story: Story) -> list[IncidentClosed]:
    return [f for f in story.facts() if isinstance(f, IncidentClosed)]


def accepted(story: Story, send: Send, at: datetime, recipient: str = FAULT) -> list[Effect]:
    d = Delivery(recipient=recipient, relay="r1", accepted=True, at=at, code=250, reply="ok",
                 permanent=False)  # fmt: skip
    return story.feed(Delivered(incident=send.notice.incident, circuit=send.notice.circuit,
                                kind=str(send.notice.kind), results=(d,)))  # fmt: skip


def test_an_outage_is_recorded_before_it_is_told_and_told_within_a_second() -> None:
    s = Story()
    s.run(2, True)
    assert [type(f) for f in s.facts()][:1] == [MonitoringStarted]
    s.run(3, False)
    [o] = opened(s)
    assert o.incident.start == T0 + 2 * S and o.incident.detected == T0 + 4 * S
    effects = s.effects
    record = next(n for n, e in enumerate(effects) if isinstance(e, Record) and o in e.facts)
    [send] = s.sends(NoticeKind.OPENED)
    assert effects.index(send) > record  # journal first
    assert send.recipients == (FAULT,) and send.notice.now == T0 + 4 * S
    assert [m.value for m in s.metric(MetricName.CIRCUIT_AVAILABLE)][-1] == 0.0
    accepted(s, send, T0 + 5 * S)
    [n] = [f for f in s.facts() if isinstance(f, IncidentNotified)]
    assert n.incident.notified == T0 + 5 * S
    s.run(2, True)
    [c] = closed(s)
    assert c.incident.end == T0 + 5 * S  # the first success, backdated
    assert [x.recipients for x in s.sends(NoticeKind.RECOVERED)] == [(FAULT,)]
    # nothing owed any more; the only timer left is the probe evidence of the opening
    assert s.sup.next_timer() == o.incident.detected + timedelta(minutes=5)


def test_a_late_relay_warns_the_noc_then_breaches() -> None:
    s = Story()
    s.run(3, False)
    assert s.sup.next_timer() == T0 + 2 * S + 5 * MIN  # the probe evidence of the opening
    assert s.sup.ledger.next_wakeup() == T0 + 2 * S + 15 * MIN  # the escalation group's notice
    s.travel(20 * MIN)
    [warning] = s.sends(NoticeKind.DEADLINE_AT_RISK)
    assert warning.recipients == (NOC,) and warning.notice.notify_deadline == T0 + 2 * S + 30 * MIN
    s.travel(10 * MIN + S)
    assert [m.labels for m in s.metric(MetricName.BREACHES)] == [(CID,)]
    # a relay that finally answers after the deadline still sets the notification time
    accepted(s, s.sends(NoticeKind.OPENED)[0], s.now)
    assert s.metric(MetricName.NOTIFICATION_LATENCY)[0].value == (s.now - (T0 + 2 * S)).seconds


def test_escalation_and_reminders_while_it_stays_down() -> None:
    s = Story()
    s.run(3, False)
    s.travel(15 * MIN)
    assert [x.recipients for x in s.sends(NoticeKind.OPENED)] == [(FAULT,), (BOSS,)]
    s.travel(45 * MIN)
    [r] = s.sends(NoticeKind.REMINDER)
    assert r.recipients == (FAULT,) and r.notice.seq == 1
    s.travel(3 * 60 * MIN)  # three reminders overdue collapse to the latest
    assert [x.notice.seq for x in s.sends(NoticeKind.REMINDER)] == [1, 4]


def test_only_a_designated_contact_s_acceptance_is_the_notification() -> None:
    s = Story()
    s.run(3, False)
    s.travel(15 * MIN)
    boss_notice = s.sends(NoticeKind.OPENED)[1]
    accepted(s, boss_notice, s.now, recipient=BOSS)
    assert not [f for f in s.facts() if isinstance(f, IncidentNotified)]
    s.travel(16 * MIN)
    assert s.metric(MetricName.BREACHES)


def test_an_outage_that_opens_and_closes_unseen_by_the_ledger_still_gets_its_notice() -> None:
    """Both facts arrive in one batch (as after the journal was unwritable): the opened
    notice is still owed, before the recovery notice, and the deadline is still watched."""
    s = Story()
    batch = [probes(T0 + n * S, False) for n in range(3)] + [
        probes(T0 + n * S, True) for n in (3, 4)
    ]
    s.feed(Probed(
        targets=tuple(k for p in batch for k in p.targets),
        ats=tuple(a for p in batch for a in p.ats),
        oks=tuple(o for p in batch for o in p.oks),
        rtts=tuple(r for p in batch for r in p.rtts),
        errors=tuple(e for p in batch for e in p.errors),
    ))  # fmt: skip
    assert [x.notice.kind for x in s.sends()] == [NoticeKind.OPENED, NoticeKind.RECOVERED]
    assert s.sup.pending() and s.sup.next_timer() is not None


def test_reload_changing_an_address_keeps_the_incident() -> None:
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    moved = circuit(addresses=("a2", "b", "c", "d"))
    s.feed(Reload(plan=plan(moved)))
    assert not closed(s)
    assert s.sup.tracker.open_incident(CID) == o.incident
    ap = PATHS[0]
    assert s.sup.tracker.path_state(ap)[0] is PathState.UNKNOWN  # only the moved path
    assert s.sup.tracker.path_state(PATHS[1])[0] is PathState.DOWN
    s.run(3, False)  # the moved path fails too: still the same incident
    assert len(opened(s)) == 1 and s.sup.tracker.open_incident(CID) == o.incident
    s.run(2, {k: k == ap for k in PATHS})  # it answers: the outage ends
    [c] = closed(s)
    assert c.incident.id == o.incident.id and c.incident.start == o.incident.start


def test_reload_removing_a_circuit_closes_its_incident_and_tells_the_contacts() -> None:
    other = circuit("er-osaka-2")
    s = Story(plan(circuit(), other))
    s.run(3, False)
    s.feed(Reload(plan=plan(other)))
    [c] = closed(s)
    assert c.incident.end == s.now and c.incident.closed_reason == REMOVED
    [rec] = s.sends(NoticeKind.RECOVERED)
    assert rec.recipients == (FAULT,) and rec.notice.circuit == CID
    assert rec.notice.removed  # it says monitoring ended, not that the circuit recovered
    [forget] = s.metric(MetricName.FORGET)
    assert forget.labels[0] == CID and len(forget.labels) == 5
    assert not s.sup.pending()  # nothing more is owed for a circuit no longer monitored
    s.travel(40 * MIN)
    assert not s.metric(MetricName.BREACHES)


def test_a_notice_accepted_after_its_circuit_was_removed_is_its_notification() -> None:
    """A reload removes the circuit right after its outage opened, before the relay accepted
    the opening notice. The acceptance came for a circuit no longer configured and was
    dropped: the journal held the incident as never notified, and the report counted a
    missed deadline (1/30 of the monthly charges) for a notice that went out in time."""
    other = circuit("er-osaka-2")
    s = Story(plan(circuit(), other))
    s.run(3, False)
    [send] = s.sends(NoticeKind.OPENED)
    s.feed(Reload(plan=plan(other)))
    removed = s.now
    accepted(s, send, s.now + S)
    accepted(s, send, s.now + 2 * S)  # a second acceptance changes nothing
    [n] = [f.incident for f in s.facts() if isinstance(f, IncidentNotified)]
    assert (n.notified, n.end, n.closed_reason) == (s.now + S, removed, REMOVED)


def test_removed_circuits_unnotified_incidents_are_let_go_after_a_day() -> None:
    """They waited for an acceptance for ever: one entry per such incident, never emptied.
    A day after the removal the notice is past its deadline whenever it went out."""
    others = [circuit(f"er-osaka-{n}") for n in range(2)]
    for late in ("acceptance", "reload"):
        s = Story(plan(circuit(), *others))
        s.run(3, False)
        [send] = s.sends(NoticeKind.OPENED)
        s.feed(Reload(plan=plan(*others)))
        assert set(s.sup._left) == {send.notice.incident}
        s.now += timedelta(days=1, seconds=1)
        if late == "reload":  # a later reload lets go of what it finds old
            s.feed(Reload(plan=plan(others[1])))
            assert not s.sup._left
        accepted(s, send, s.now)  # too late to be its notification: not taken
        assert not [f for f in s.facts() if isinstance(f, IncidentNotified)]
        assert not s.sup._left, late


def test_restart_resumes_the_open_incident_and_its_gauges() -> None:
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    down = {k: (PathState.DOWN, T0) for k in PATHS}
    resume = Resume(paths=down, incidents=(o.incident,), first_results={CID: T0})
    again = Story(resume=resume, now=s.now + MIN)
    gauges = again.metric(MetricName.PATH_UP)
    assert len(gauges) == 4 and {g.value for g in gauges} == {0.0}
    assert again.metric(MetricName.CIRCUIT_AVAILABLE)[0].value == 0.0
    assert [x.notice.kind for x in again.sends()] == [NoticeKind.OPENED]  # due again: same key
    again.run(2, True)
    [c] = closed(again)
    assert c.incident.id == o.incident.id and not opened(again)
    assert not [f for f in again.facts() if isinstance(f, MonitoringStarted)]


def test_a_start_closes_what_the_journal_holds_open_for_a_circuit_no_longer_configured() -> None:
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    again = Story(plan(circuit("er-osaka-2")), Resume(incidents=(o.incident,)))
    [c] = closed(again)
    assert c.incident.closed_reason == REMOVED and c.incident.end == again.now


def test_stale_and_unknown_results_are_counted_not_dropped_silently() -> None:
    s = Story()
    s.run(1, True)
    s.feed(probes(T0 - S, True, PATHS[:1]))  # older than one already seen
    ghost = PathKey(circuit="gone", router=PATHS[0].router, demarc=PATHS[0].demarc)
    s.feed(probes(s.now, True, [ghost]))
    assert [m.labels for m in s.metric(MetricName.DROPPED)] == [("stale",), ("unknown",)]


def test_a_window_announced_during_an_outage_moves_nothing_before_it() -> None:
    s = Story()
    s.run(3, False)
    window = MaintenanceWindow(start=T0, end=T0 + 2 * 60 * MIN, announced_at=s.now + 10 * MIN)
    s.travel(10 * MIN)
    s.feed(WindowAdded(window=Announced(circuit=CID, window=window, source="api", id=1)))
    assert s.sup.terms(CID).maintenance == (window,)
    # detection preceded the announcement: the deadline stays detection + 30 min
    assert s.sup.pending()[0][2] == T0 + 2 * S + 30 * MIN


def test_snmp_evidence_is_recorded_when_it_changes_and_traps_always() -> None:
    s = Story()
    ap = PATHS[0]

    def reading(kind: str, ok: bool | None, text: str) -> SnmpReading:
        return SnmpReading(path=ap, at=s.now, kind=kind, ok=ok, value=1 if ok else 2, text=text)

    s.feed(SnmpSeen(readings=(reading("ifOperStatus", True, "up"),)))
    s.feed(SnmpSeen(readings=(reading("ifOperStatus", True, "up"),)))
    s.feed(
        SnmpSeen(
            readings=(reading("ifOperStatus", False, "down"), reading("trap", None, "linkDown"))
        )
    )
    assert [(f.kind, f.text) for f in s.facts()] == [  # type: ignore[attr-defined]
        ("ifOperStatus", "up"),
        ("ifOperStatus", "down"),
        ("trap", "linkDown"),
    ]
    assert s.sup.snmp[ap]["ifOperStatus"].text == "down"


def test_blindness_alerts_the_noc_and_opens_nothing_until_sight_returns() -> None:
    gw = ControlPlan(name="noc-gw", address="gw")
    s = Story(plan(circuit(), controls=(gw,)))
    dark = Probed.of(
        (Control(name="noc-gw"), ProbeResult(target="gw", at=T0 + n * S, ok=False))
        for n in range(3)
    )
    s.feed(dark)
    s.now += 3 * S
    s.run(3, False)
    assert not opened(s)
    [blind] = s.sends(NoticeKind.BLIND)
    assert blind.recipients == (NOC,)
    light = Probed.of(
        (Control(name="noc-gw"), ProbeResult(target="gw", at=s.now + n * S, ok=True))
        for n in range(2)
    )
    s.feed(light)
    assert opened(s) and s.sends(NoticeKind.BLIND_ENDED)


def test_an_exclusion_reaches_the_recovery_notice() -> None:
    s = Story()
    s.run(3, False)
    [o] = opened(s)
    s.feed(Excluded(incident=replace(o.incident, excluded="customer power")))
    s.travel(2 * 60 * MIN)
    s.run(2, True)
    recovered = s.sends(NoticeKind.RECOVERED)
    assert [r.recipients for r in recovered] == [(FAULT,), (BOSS,)]
    assert {r.notice.credit for r in recovered} == {0}  # 2 h would be 1/30, but it is excluded


def test_path_changes_are_gauges() -> None:
    s = Story()
    s.run(2, True)
    ups = [m for m in s.metric(MetricName.PATH_UP) if m.value == 1.0]
    assert len(ups) == 4 and all(isinstance(f, PathChanged | MonitoringStarted) for f in s.facts())


# -- two NOC hosts (issue 13) --------------------------------------------------------------------
def peer(node: str, state: PathState, since: datetime, keys: Sequence[PathKey] = PATHS) -> Peers:
    return Peers(live=(node,), paths=tuple(PeerPath(node=node, path=k, state=state, since=since)
                                          for k in keys))  # fmt: skip


def test_two_hosts_that_agree_open_one_incident_over_the_intersection() -> None:
    s = Story(resume=None)
    s.sup = Supervisor(plan(), node="noc-a")
    s.feed(peer("noc-b", PathState.UP, T0))
    s.run(3, False)  # noc-a: all down from T0, but noc-b still sees them up
    assert not opened(s) and [d.labels for d in s.metric(MetricName.DISAGREEMENTS)] == [(CID,)]
    [alert] = s.sends(NoticeKind.DISAGREE)
    assert alert.recipients == (NOC,)
    assert ("noc-b: active/primary", "up") in alert.notice.paths
    assert ("noc-a: active/primary", "down") in alert.notice.paths
    s.feed(peer("noc-b", PathState.DOWN, T0 + S))  # noc-b agrees: its paths down since T0+1 s
    [o] = opened(s)
    assert o.incident.start == T0 + S  # the later of the two starts: the intersection
    assert o.incident.detected == s.now and not o.incident.single_vantage
    assert s.sends(NoticeKind.OPENED)  # the customer is told once both agree
    s.feed(peer("noc-b", PathState.UP, s.now, PATHS[:1]))  # noc-b's first path answers
    [c] = closed(s)
    assert c.incident.end == s.now and c.incident.id == o.incident.id


def test_a_disagreement_tells_no_customer() -> None:
    s = Story()
    s.sup = Supervisor(plan(), node="noc-a")
    s.feed(peer("noc-b", PathState.UP, T0))
    s.run(3, False)
    s.travel(40 * MIN)
    assert not s.sends(NoticeKind.OPENED) and not opened(s) and not s.metric(MetricName.BREACHES)
    assert len(s.sends(NoticeKind.DISAGREE)) == 1  # one alert per episode, not one a tick


def test_with_no_live_peer_one_host_decides_alone_and_says_so() -> None:
    s = Story()
    s.sup = Supervisor(plan(), node="noc-a")
    s.feed(peer("noc-b", PathState.UP, T0))
    s.run(3, False)
    assert not opened(s)
    s.feed(Peers(live=()))  # noc-b's results went stale: it is not live
    [o] = opened(s)
    assert o.incident.single_vantage and o.incident.start == T0


def test_a_standby_keeps_its_paths_and_decides_nothing() -> None:
    s = Story()
    s.sup = Supervisor(plan(), node="noc-b", leading=False)
    s.run(5, False)
    assert not opened(s) and not s.sends()
    assert [f for f in s.facts() if isinstance(f, PathChanged)]  # its own view is recorded
