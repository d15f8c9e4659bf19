"""Two NOC hosts on one journal: what a leader writes under its lease epoch, and what a node
starting beside a live one records (every backend).

Each test failed before its fix (found end to end in tests/e2e/test_two_nodes.py): a stale
leader's queued incident facts and notices were written whoever led (its incident number
could close the new leader's incident of that number); a fenced claim inside the journal
writer's batch came back as the driver's raw error, which the writer's caller did not know;
and a node starting while the other ran recorded the time since the last heartbeat as
unmonitored; a stale leader's write-down of an acceptance, landing before the new leader's
claim, left the incident as never notified.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.effects import Record
from monitor.core.errors import FencedError
from monitor.core.model import PathKey, PathState
from monitor.core.paths import Change
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import (
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    PathChanged,
)
from monitor.store.records import Lease, OutboxItem, OutboxState
from monitor.store.sql import SqlStore
from tests.core.helpers import CID, PATHS
from tests.core.test_supervisor import FAULT, plan
from tests.store.test_contract import delivery
from tests.store.test_lease import LONG, lapse, notice, take

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def incident(i: int, circuit: str, end: datetime | None = None) -> Incident:
    return Incident(id=i, circuit=circuit, start=T0, detected=T0 + timedelta(seconds=3), end=end)


def down(path: PathKey) -> PathChanged:
    return PathChanged(path=path, change=Change(state=PathState.DOWN, since=T0, at=T0))


def test_a_stale_leaders_incident_facts_are_refused_and_its_own_view_kept(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    old = take(a, "noc-a")
    lapse(a, "noc-a")  # noc-a paused past its lease
    new = take(b, "noc-b", LONG)
    assert b.record([IncidentOpened(incident=incident(1, "c-y"))], epoch=new.epoch)
    # noc-a wakes with its own incident 1 (another circuit) queued, closed
    stale = [down(PATHS[0]), IncidentClosed(incident=incident(1, "c-x", T0 + timedelta(hours=1)))]
    assert a.record(stale, epoch=old.epoch) is False
    [kept] = b.incidents()
    assert (kept.circuit, kept.end) == ("c-y", None)  # noc-b's incident 1 untouched
    assert [c.node for c in b.nodes.news(None).changes] == ["noc-a"]  # a's own view is kept


def test_a_stale_leaders_notice_is_not_stored(pair: tuple[SqlStore, SqlStore]) -> None:
    a, b = pair
    old = take(a, "noc-a")
    lapse(a, "noc-a")
    take(b, "noc-b", LONG)
    with pytest.raises(FencedError):
        a.outbox.put(notice("<m1@x>"), T0, epoch=old.epoch)
    assert b.outbox.notices() == []


def test_the_leaders_writes_pass_under_its_epoch(store: SqlStore) -> None:
    lease = take(store, "noc-a")
    assert store.record([IncidentOpened(incident=incident(1, "c-x"))], epoch=lease.epoch)
    assert store.outbox.put(notice("<m1@x>"), T0, epoch=lease.epoch) is not None
    assert [i.id for i in store.incidents()] == [1]


def test_a_fenced_claim_inside_a_batch_is_a_fenced_error(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    old = take(a, "noc-a")
    a.outbox.put(notice("<m1@x>"), T0)
    lapse(a, "noc-a")
    take(b, "noc-b", LONG)
    with a.batch():  # as the journal writer runs every write
        with pytest.raises(FencedError):
            a.outbox.claim_due(T0, 10, epoch=old.epoch)
        a.heartbeat(T0)  # the batch goes on: the refusal was that write's alone


def test_no_gap_is_recorded_when_another_node_was_monitoring(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    assert a.started(T0) is None
    a.nodes.alive("instance-a", 10.0)  # noc-a's results are flowing
    assert b.started(T0 + timedelta(seconds=5)) is None
    assert b.gaps() == []


def test_no_gap_when_another_node_started_a_moment_ago(pair: tuple[SqlStore, SqlStore]) -> None:
    """noc-a started 1 s before noc-b, its results not flowing yet: noc-b's start used to
    record a gap from noc-a's start (the two-node e2e test caught it, 4 runs in 6)."""
    a, b = pair
    assert a.started(T0) is None
    assert b.started(T0 + timedelta(seconds=1)) is None
    assert b.gaps() == []


def test_a_gap_when_the_other_node_stopped_or_fell_silent(pair: tuple[SqlStore, SqlStore]) -> None:
    a, b = pair
    a.started(T0)
    a.stopped(T0 + timedelta(seconds=2))
    gap = b.started(T0 + timedelta(seconds=5))
    assert gap is not None and (gap.start, gap.end) == (T0 + 2 * S, T0 + 5 * S)
    a.started(T0 + 10 * S)  # a's last word, then silence for longer than ALIVE_S
    b.stopped(T0 + 11 * S)
    late = b.started(T0 + 40 * S)
    assert late is not None and late.start == T0 + 11 * S


def test_a_stale_leaders_late_finish_leaves_the_new_claim_alone(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    """noc-a claimed a notice and was retrying it when its lease lapsed; noc-b took over,
    claimed the row again and sent it. noc-a's write-down of its own tries, arriving late,
    put the row back to pending, due again: noc-b would have sent it a second time."""
    a, b = pair
    old = take(a, "noc-a")
    a.outbox.put(notice("<m1@x>"), T0, epoch=old.epoch)
    [mine] = a.outbox.claim_due(T0, 5, epoch=old.epoch)
    lapse(a, "noc-a")
    new = take(b, "noc-b", LONG)
    [theirs] = b.outbox.claim_orphans(new.epoch)
    sent = [delivery("a@x.example", True, T0 + 9 * S)]
    assert b.outbox.finish(theirs.id, sent, T0 + 60 * S, theirs.epoch) is True
    deferred = [delivery("a@x.example", False, None)]
    assert a.outbox.finish(mine.id, deferred, T0 + 30 * S, mine.epoch) is False
    [item] = b.outbox.notices()
    assert item.state is OutboxState.DONE and b.outbox.claim_due(T0 + 3600 * S, 5) == []
    assert b.outbox.deliveries(item.id) == [*sent, *deferred]  # what the relay said, kept


def claimed_then_lost(a: SqlStore, b: SqlStore) -> tuple[Incident, OutboxItem, Lease, Lease]:
    """noc-a leads, records an outage and claims its opened notice; its lease lapses and
    noc-b takes the lead: (the incident, noc-a's claim, noc-a's lease, noc-b's)."""
    old = take(a, "noc-a")
    incident = Incident(id=1, circuit=CID, start=T0, detected=T0 + 3 * S)
    assert a.record([IncidentOpened(incident=incident)], epoch=old.epoch)
    a.outbox.put(notice("<m1@x>"), T0 + 3 * S, epoch=old.epoch)
    [mine] = a.outbox.claim_due(T0 + 3 * S, 5, epoch=old.epoch)
    lapse(a, "noc-a")
    return incident, mine, old, take(b, "noc-b", LONG)


def stale_write_down(
    a: SqlStore, incident: Incident, mine: OutboxItem, old: Lease, at: datetime
) -> IncidentNotified:
    """noc-a, no longer leading, writes down its relay's acceptance at ``at`` as the journal
    writer carries it out (one commit): the delivery is kept, the notified fact refused."""
    with a.batch():
        assert a.outbox.finish(mine.id, [delivery(FAULT, True, at)], at, mine.epoch)
        notified = IncidentNotified(incident=replace(incident, notified=at))
        assert a.record([notified], epoch=old.epoch) is False
    return notified


def test_a_stale_leaders_acceptance_written_before_the_new_claim_is_the_notification(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    """noc-a's relay accepted the opened notice; noc-a lost its lease before writing it
    down, and its write-down (the delivery and, in the same batch, the notified fact) landed
    before noc-b claimed the row: the row done, the notified fact refused. noc-b resumed the
    incident as never notified, with nothing to send again: 30 minutes from detection, a
    notification breach its own deliveries table disproves (tests/e2e/test_notified_takeover.py)."""
    a, b = pair
    incident, mine, old, new = claimed_then_lost(a, b)
    at = T0 + 4 * S
    stale_write_down(a, incident, mine, old, at)
    assert b.outbox.claim_orphans(new.epoch) == []  # nothing to send again
    resume = b.restore()
    assert [i.notified for i in resume.incidents] == [None]
    sup = Supervisor(plan(), resume, node="noc-b")
    facts = [f for e in sup.start(T0 + 60 * S) if isinstance(e, Record) for f in e.facts]
    assert [f.incident.notified for f in facts if isinstance(f, IncidentNotified)] == [at]
    assert b.record(facts, epoch=new.epoch)
    assert b.incident(1) == replace(incident, notified=at)
    assert b.restore().accepted == ()  # told: nothing to take at the next start


def test_a_stale_leaders_acceptance_written_after_the_new_resume_is_the_leaders_to_read(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    """noc-b resumed (the incident never notified) and claimed the row; noc-a's write-down of
    its relay's 250 lands only then (its finish leaves the row to noc-b's claim, its notified
    fact is refused). Before the fix noc-b had nothing to learn it from until its next start
    or lead: the leader now asks for the acceptances of the incidents it waits on
    (``Outbox.accepted_of``, service/cluster.py) and feeds them as any relay's answer."""
    a, b = pair
    incident, mine, old, new = claimed_then_lost(a, b)
    sup = Supervisor(plan(), b.restore(), node="noc-b")
    assert not [e for e in sup.start(T0 + 60 * S) if isinstance(e, Record)]  # nothing to take
    assert sup.pending()[0][0] == 1
    [again] = b.outbox.claim_orphans(new.epoch)  # noc-b sends it again
    assert again.id == mine.id
    assert b.outbox.accepted_of([1]) == []
    at = T0 + 4 * S
    notified = stale_write_down(a, incident, mine, old, at)
    assert b.outbox.notices()[0].state is OutboxState.IN_FLIGHT  # noc-b's claim's to finish
    [told] = b.outbox.accepted_of([1, 2])
    assert (told.incident, told.kind, [r.at for r in told.results]) == (1, "opened", [at])
    facts = [f for e in sup.handle(told, T0 + 61 * S) if isinstance(e, Record) for f in e.facts]
    assert facts == [notified] and sup.pending() == []
    assert b.record(facts, epoch=new.epoch)
    assert b.incident(1) == replace(incident, notified=at)
