"""An outage confirmed while a control target is in doubt waits on it (core/doubt.py). It waited
in memory only: a restart in that second lost it for good (the paths restored down, nothing to
open it; a review found it), and once the paths started afresh at a restart, an outage whose
path came back during the wait was still lost (a second review). The wait is journalled now, and
a restart resumes it: a real journal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.core.inputs import Control, Probed, Resume, Tick
from monitor.core.model import ProbeResult
from monitor.core.plan import ControlPlan, Plan
from monitor.core.supervisor import REMOVED
from monitor.store import open_store
from tests.core.helpers import AP, PATHS, T0
from tests.core.test_supervisor import S, Story, circuit, closed, opened, plan, probes

GW = ControlPlan(name="gw", address="192.0.2.1")
MS = timedelta(milliseconds=1)


def gw(s: Story, ok: bool) -> None:
    at = s.now + 600 * MS
    s.feed(Probed.of([(Control(name="gw"), ProbeResult(target="gw", at=at, ok=ok))]))


def waiting(p: Plan) -> Story:
    """Paths fail from 2 s (confirmed at 4 s); gw's echo lost at 3.6 s: the outage waits."""
    s = Story(p)
    for i in range(5):
        s.feed(probes(s.now, i < 2))
        if i < 4:
            gw(s, i != 3)
        s.feed(Tick())
        s.now += S
    assert opened(s) == []  # waiting on gw's next result
    return s


def journalled(s: Story, tmp_path: Path) -> Resume:
    """What a start reads back from a real journal holding ``s``'s facts."""
    store = open_store(str(tmp_path / "journal.db"))
    try:
        store.record(s.facts())
        assert store.verify().ok
        return store.restore()
    finally:
        store.close()


def test_a_restart_while_an_outage_waits_resumes_it_with_its_own_start(tmp_path: Path) -> None:
    p = plan(controls=(GW,))
    s = waiting(p)
    again = Story(p, journalled(s, tmp_path), now=s.now + 5 * S)  # restarted
    for _ in range(3):  # paths still down, gw answers every second
        again.feed(probes(again.now, False))
        gw(again, True)
        again.feed(Tick())
        again.now += S
    [o] = opened(again)  # the monitor saw at the detection: its own start and detection
    assert (o.incident.start, o.incident.detected) == (T0 + 2 * S, T0 + 4 * S)


def test_a_restart_after_a_path_came_back_while_waiting_keeps_the_outage(tmp_path: Path) -> None:
    """AP answers from 5 s (up at 6 s) while the outage [2 s, 5 s) waits; the daemon stops at
    7 s, before gw's next result. The restart found AP up and no open incident: nothing to
    open, the outage lost (it had been confirmed, and was never journalled)."""
    p = plan(controls=(GW,))
    s = waiting(p)
    s.run(2, {k: k == AP for k in PATHS})
    again = Story(p, journalled(s, tmp_path), now=s.now + 5 * S)
    gw(again, True)
    again.run(3, True)
    [o] = opened(again)
    assert (o.incident.start, o.incident.detected) == (T0 + 2 * S, T0 + 4 * S)
    [c] = closed(again)
    assert c.incident.id == o.incident.id and c.incident.end == T0 + 5 * S


def test_a_restart_keeps_the_blindness_rule_for_the_outage_it_resumes(tmp_path: Path) -> None:
    """As above, but gw fails again after the restart: the journal cannot say how many of
    its failures the daemon saw before it stopped, so the first one after the start takes
    it down from its run (since 3.6 s): the monitor was blind at the detection, and the
    outage, its path back, is not opened (SLA.md 6.5)."""
    p = plan(controls=(GW,))
    s = waiting(p)
    s.run(2, {k: k == AP for k in PATHS})
    again = Story(p, journalled(s, tmp_path), now=s.now + 5 * S)
    gw(again, False)
    assert again.sup.tracker.blind and again.sup.tracker.blind_since == T0 + 3600 * MS
    for _ in range(30):
        gw(again, True)
        again.run(1, True)
    assert not again.sup.tracker.blind and opened(again) == []


def test_a_circuit_removed_while_stopped_with_its_outage_waiting(tmp_path: Path) -> None:
    """The daemon stops while the outage waits; it starts with the circuit no longer
    configured. As a reload removing it would: the outage opens with its own start and
    detection and closes at the start, removed from monitoring (no notice: its contacts are
    not known any more, as for an incident the journal held open)."""
    other = circuit("er-osaka-2")
    s = waiting(plan(circuit(), other, controls=(GW,)))
    again = Story(plan(other, controls=(GW,)), journalled(s, tmp_path), now=s.now + 5 * S)
    [o] = opened(again)
    assert (o.incident.start, o.incident.detected) == (T0 + 2 * S, T0 + 4 * S)
    [c] = closed(again)
    i = c.incident
    assert (i.id, i.end, i.closed_reason) == (o.incident.id, again.now, REMOVED)
    assert again.sends() == []
