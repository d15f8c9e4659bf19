"""An outage confirmed while a control target is in doubt waits in memory only (core/doubt.py):
a restart in that second lost it for good (the paths restored down, nothing to open it; a
review found it). The restart now starts such a circuit's paths afresh: a real journal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.core.inputs import Control, Probed, Tick
from monitor.core.model import ProbeResult
from monitor.core.plan import ControlPlan
from monitor.store import open_store
from tests.core.test_supervisor import S, Story, opened, plan, probes

GW = ControlPlan(name="gw", address="192.0.2.1")
MS = timedelta(milliseconds=1)


def gw(s: Story, ok: bool) -> None:
    at = s.now + 600 * MS
    s.feed(Probed.of([(Control(name="gw"), ProbeResult(target="gw", at=at, ok=ok))]))


def test_a_restart_while_an_outage_waits_opens_it_from_fresh_results(tmp_path: Path) -> None:
    p = plan(controls=(GW,))
    s = Story(p)
    for i in range(5):  # paths fail from round 2 (confirmed at round 4); gw's echo lost at 3
        s.feed(probes(s.now, i < 2))
        if i < 4:
            gw(s, i != 3)
        s.feed(Tick())
        s.now += S
    assert opened(s) == []  # waiting on gw's next result
    store = open_store(str(tmp_path / "journal.db"))
    try:
        store.record(s.facts())
        resume = store.restore()
    finally:
        store.close()
    again = Story(p, resume, now=s.now + 5 * S)  # restarted by the service manager
    again_start = again.now
    for _ in range(600):  # ten minutes: paths still down, gw answers every second
        again.feed(probes(again.now, False))
        gw(again, True)
        again.feed(Tick())
        again.now += S
    [o] = opened(again)  # the circuit is down and seen: opened, from the results after the start
    assert o.incident.start >= again_start
