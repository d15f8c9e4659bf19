"""A start offers the NOC's current blindness notice again "under its own
Message-ID (by its since)". The since a start finds (tracker.restore_control: the since of the
first DOWN control in the journal's rows) is not the since the live BlindStarted had (the
first control target to go down), once that target came back while another kept the monitor
blind. It then sent a second BLIND notice under a new Message-ID (found by a review): the
open spell the journal holds now gives the since."""

from __future__ import annotations

from pathlib import Path

from monitor.core.inputs import Control, Probed
from monitor.core.model import ProbeResult
from monitor.core.notices import NoticeKind
from monitor.core.plan import ControlPlan
from monitor.notify.message import _identity
from monitor.store import open_store
from tests.core.helpers import MIN
from tests.core.test_supervisor import S, Story, circuit, plan


def control(s: Story, name: str, ok: bool, rounds: int = 3) -> None:
    for _ in range(rounds):
        s.feed(Probed.of([(Control(name=name), ProbeResult(target=name, at=s.now, ok=ok))]))
        s.now += S


def test_a_start_while_still_blind_offers_the_same_blind_notice(tmp_path: Path) -> None:
    p = plan(circuit(), controls=(ControlPlan(name="gw-a", address="a"),
                                  ControlPlan(name="gw-b", address="b")))  # fmt: skip
    s = Story(p)
    control(s, "gw-a", True)
    control(s, "gw-b", True)
    control(s, "gw-a", False)  # blind from here: BLIND sent, since gw-a's first failure
    s.now += MIN
    control(s, "gw-b", False)
    s.now += MIN
    control(s, "gw-a", True)  # gw-a back, gw-b still down: still blind, same spell
    assert s.sup.tracker.blind
    [live] = s.sends(NoticeKind.BLIND)
    store = open_store(str(tmp_path / "journal.db"))
    try:
        store.record(s.facts())
        resume = store.restore()
        assert [b.end for b in resume.blind] == [None]  # the journal: one spell, still open
        assert resume.blind[0].start == live.notice.blind_since
    finally:
        store.close()
    again = Story(p, resume, now=s.now + MIN)  # killed and restarted by the service manager
    offered = again.sends(NoticeKind.BLIND)
    ids = {_identity(x.notice) for x in [live, *offered]}
    assert len(ids) == 1, (
        f"live BLIND since {live.notice.blind_since}, offered again since "
        f"{[x.notice.blind_since for x in offered]}: {len(ids)} Message-IDs for one blind spell"
    )


def test_a_spell_left_open_by_a_removed_control_target_ends_at_the_start(tmp_path: Path) -> None:
    """Blind, stopped, and the control target removed from the configuration: no target can
    end the spell the journal holds open, so it stayed open for ever, with no "sight back".
    The next start ends it, records it and tells the NOC. (Suspected by a review.)"""
    p = plan(circuit(), controls=(ControlPlan(name="gw-a", address="a"),))
    s = Story(p)
    control(s, "gw-a", True)
    control(s, "gw-a", False)
    assert s.sup.tracker.blind
    store = open_store(str(tmp_path / "journal.db"))
    try:
        store.record(s.facts())
        later = s.now + MIN
        again = Story(plan(circuit()), store.restore(), now=later)  # gw-a no longer configured
        store.record(again.facts())
        [spell] = store.restore().blind
    finally:
        store.close()
    assert spell.end == later and not again.sup.tracker.blind
    [told] = again.sends(NoticeKind.BLIND_ENDED)
    assert told.notice.blind_since == spell.start and told.notice.end == later
