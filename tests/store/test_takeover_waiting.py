"""Two NOC hosts on one PostgreSQL journal: an outage the leader confirmed while its control
target was in doubt waits on that target (core/doubt.py); the leader dies during the wait,
and the standby takes the lead.

Before the fix the wait stayed in the leader's memory on two hosts (it journalled no
``OutageWaiting`` fact, and a new leader resumed none): the new leader judged the circuit from
its own view only, so an outage whose path came back before the takeover (the lease lapses
30 s after the leader's last renewal) was lost for good, and one still down was opened with the
takeover as its detection. Now the leader journals the wait as one host does, and the new
leader resumes it as a restart does: its own start and detection, as the old leader saw them.

The real journal (PostgreSQL: its lease fences the leader's facts, and the standby's path
changes reach the leader as the news does); each host's supervisor is driven by the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.inputs import Control, Probed, Tick
from monitor.core.model import PathKey, ProbeResult
from monitor.core.plan import ClusterPlan, ControlPlan, Plan
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import OutageWaiting
from monitor.service.cluster import peers
from monitor.store.sql import SqlStore
from tests.core.helpers import AP, PATHS, T0
from tests.core.test_supervisor import S, Story, closed, opened, plan, probes
from tests.store.backends import postgres_backend
from tests.store.test_lease import lapse, take

CLUSTER = ClusterPlan(node="noc-a", lease_s=30, renew_s=5, fresh_s=3, news_s=1)
GW = ControlPlan(name="gw", address="192.0.2.1")
MS = timedelta(milliseconds=1)
TAKEOVER = T0 + 40 * S
"""When noc-b leads: the lease lapses 30 s after noc-a's last renewal."""


def p() -> Plan:
    return replace(plan(controls=(GW,)), cluster=CLUSTER)


def host(node: str, leading: bool) -> Story:
    s = Story()
    s.sup = Supervisor(p(), node=node, leading=leading)
    s.effects = list(s.sup.start(s.now))
    return s


class Hosts:
    """noc-a leads (lease epoch ``epoch``) and noc-b stands by, each on its own store of one
    journal; each second both probe the paths and their own control target ``gw`` (600 ms
    later), noc-b's words reaching noc-a through the journal's news."""

    def __init__(self, a: SqlStore, b: SqlStore) -> None:
        self.stores = {"noc-a": a, "noc-b": b}
        self.epoch = take(a, "noc-a").epoch
        b.nodes.alive(uuid.uuid4().hex, 3600.0)  # noc-b's results flow
        self.a, self.b = host("noc-a", True), host("noc-b", False)
        self.written = {"noc-a": 0, "noc-b": 0}
        self.last: int | None = None

    def write(self, node: str, s: Story, epoch: int | None = None) -> None:
        """Journal what ``s`` recorded since the last write (noc-a's under its epoch)."""
        facts = s.facts()
        new, self.written[node] = facts[self.written[node] :], len(facts)
        if new:
            assert self.stores[node].record(new, epoch=epoch)  # type: ignore[arg-type]

    def second(self, paths: bool | dict[PathKey, bool], gw: bool | None, *, a: bool = True) -> None:
        """One second: noc-b probes (its gw answers) and writes; noc-a (unless it died) reads
        the news, probes (``gw``: its control target's result, None for none) and writes."""
        self._round(self.b, paths, True)
        self.write("noc-b", self.b)
        if a:
            news = self.stores["noc-a"].nodes.news(self.last)
            self.last = news.last_id
            self.a.feed(peers(news))
            self._round(self.a, paths, gw)
            self.write("noc-a", self.a, self.epoch)
        self.a.now = self.b.now

    @staticmethod
    def _round(s: Story, paths: bool | dict[PathKey, bool], gw: bool | None) -> None:
        s.feed(probes(s.now, paths))
        if gw is not None:
            at = s.now + 600 * MS
            s.feed(Probed.of([(Control(name="gw"), ProbeResult(target="gw", at=at, ok=gw))]))
        s.feed(Tick())
        s.now += S

    def waiting(self) -> None:
        """Paths fail from 2 s, confirmed at 4 s by both hosts; noc-a's gw echo is lost at
        3.6 s: the outage waits on it (its next result)."""
        for i in range(5):
            self.second(i < 2, None if i == 4 else i != 3)
        assert opened(self.a) == [] and self.a.sup.tracker.vantage is not None

    def takeover(self) -> Story:
        """noc-a is dead: its lease lapses, noc-b takes it at :data:`TAKEOVER` and leads as the
        daemon makes it (service/daemon.py ``_lead``), its facts journalled under its epoch;
        the story of noc-b from then."""
        lapse(self.stores["noc-a"], "noc-a")
        b = self.stores["noc-b"]
        epoch = take(b, "noc-b").epoch
        now = TAKEOVER
        lead = Supervisor(p(), b.restore(), node="noc-b", leading=True)
        lead.adopt(self.b.sup)
        s = Story()
        s.sup, s.now = lead, now
        s.effects = lead.start(now) + lead.lead(peers(b.nodes.news(None)), now)
        if s.facts():
            assert b.record(s.facts(), epoch=epoch)  # type: ignore[arg-type]
        return s


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    with postgres_backend(tmp_path) as pg:
        a, b = pg.open("noc-a"), pg.open("noc-b")
        try:
            yield Hosts(a, b)
        finally:
            a.close()
            b.close()


def test_the_leader_journals_the_wait_on_two_hosts(hosts: Hosts) -> None:
    hosts.waiting()
    [w] = hosts.stores["noc-b"].restore().waiting
    assert isinstance(w, OutageWaiting)
    assert (w.start, w.detected, w.doubt) == (T0 + 2 * S, T0 + 4 * S, (("gw", T0 + 3600 * MS),))


def test_a_new_leader_resumes_the_wait_of_an_outage_that_ended_before_it_took_over(
    hosts: Hosts,
) -> None:
    """AP answers from 5 s (up at 6 s, both hosts) while the outage waits; noc-a dies at 7 s,
    before its gw's next result. noc-b took over at 40 s, every path up: nothing to open
    from its own view (before the fix: the outage was lost, never an incident)."""
    hosts.waiting()
    back = {k: k == AP for k in PATHS}
    hosts.second(back, None)
    hosts.second(back, None)
    while hosts.b.now < TAKEOVER:
        hosts.second(back, None, a=False)
    lead = hosts.takeover()
    [o] = opened(lead)  # noc-b's own gw answered: the monitor is not blind by it
    i = o.incident
    assert (i.start, i.detected, i.single_vantage) == (T0 + 2 * S, T0 + 4 * S, False)
    [c] = closed(lead)
    assert (c.incident.id, c.incident.end) == (i.id, T0 + 5 * S)
    [kept] = hosts.stores["noc-b"].restore().incidents
    assert (kept.start, kept.detected, kept.end) == (T0 + 2 * S, T0 + 4 * S, T0 + 5 * S)
    assert hosts.stores["noc-b"].restore().waiting == ()  # decided: not resumed again


def test_a_new_leader_keeps_the_detection_of_an_outage_still_down(hosts: Hosts) -> None:
    """As above, no path back: noc-b found every path down at the takeover and opened the
    outage then, detected at 40 s (its notification deadline 36 s late), before the fix."""
    hosts.waiting()
    while hosts.b.now < TAKEOVER:
        hosts.second(False, None, a=hosts.b.now < T0 + 7 * S)
    lead = hosts.takeover()
    [o] = opened(lead)
    assert (o.incident.start, o.incident.detected) == (T0 + 2 * S, T0 + 4 * S)
    assert closed(lead) == []
    lead.run(3, False)
    assert len(opened(lead)) == 1  # one outage, resumed once
