"""The store contract: what every backend must do, asked through the store's own queries.

Parametrized by backend (tests/store/backends.py, fixtures ``backend`` and ``store`` in
conftest.py): the SQLite journal and PostgreSQL. No raw SQL here: a backend passes by answering
the public questions right.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.errors import InputError
from monitor.core.facts import SnmpObserved
from monitor.core.model import Demarc, Interval, MaintenanceWindow, PathKey, PathState, Router
from monitor.core.notices import Delivery
from monitor.core.paths import Change
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    CircuitSpec,
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    OutageWaiting,
    PathChanged,
    Tracker,
)
from monitor.store.records import Notice, OutboxState
from monitor.store.sql import RECENT_PER_CIRCUIT, SqlStore
from tests.store.backends import BACKENDS, Backend

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)
PATHS = tuple(PathKey(circuit="c1", router=r, demarc=d) for r in Router for d in Demarc)


def outage(store: SqlStore, t: Tracker, start: datetime, ticks: int, ok: bool) -> None:
    for i in range(ticks):
        for p in PATHS:
            store.record(t.observe(p, start + i * S, ok))


def tracker() -> Tracker:
    return Tracker([CircuitSpec(id="c1", paths=PATHS)])


def incident(n: int, start: datetime, end: datetime | None = None, circuit: str = "c1") -> Incident:
    return Incident(id=n, circuit=circuit, start=start, detected=start + 2 * S, end=end)


def notice(mid: str, incident_id: int | None = 1, due: datetime = T0) -> Notice:
    return Notice(message_id=mid, incident_id=incident_id, circuit="c1", kind="opened",
                  recipients=("a@x.example", "b@x.example"), body=b"body \x00\xff",
                  due_at=due)  # fmt: skip


def delivery(recipient: str, ok: bool, at: datetime | None, permanent: bool = False) -> Delivery:
    return Delivery(recipient=recipient, relay="r1", accepted=ok, at=at, code=250 if ok else 451,
                    reply="ok" if ok else "try later", permanent=permanent)  # fmt: skip


# -- facts and restarts --------------------------------------------------------------------------
def test_facts_come_back_at_a_restart(backend: Backend) -> None:
    store = backend.open()
    t = tracker()
    outage(store, t, T0, 2, True)
    outage(store, t, T0 + 10 * S, 3, False)
    store.record([BlindStarted(since=T0 + 20 * S, at=T0 + 22 * S)])
    store.close()
    store = backend.open()
    try:
        resume = store.restore()
        [open_] = resume.incidents
        assert open_.start == T0 + 10 * S and open_.end is None and open_.detected == T0 + 12 * S
        assert resume.paths == {p: (PathState.DOWN, T0 + 10 * S) for p in PATHS}
        assert resume.first_results == {"c1": T0}
        assert resume.blind == (Interval(start=T0 + 20 * S),)
        store.record(
            [BlindEnded(interval=Interval(start=T0 + 20 * S, end=T0 + 30 * S), at=T0 + 31 * S)]
        )
        assert store.blind_intervals() == [Interval(start=T0 + 20 * S, end=T0 + 30 * S)]
    finally:
        store.close()


def test_an_outage_waiting_on_the_control_targets_comes_back_until_decided(
    store: SqlStore,
) -> None:
    """Each outage as it last stood (core/doubt.py): begun, a path back, decided (then gone)."""
    doubt = (("gw1", T0 + 1500 * S / 1000), ("gw2", T0 + S))
    one = OutageWaiting(circuit="c1", start=T0, detected=T0 + 2 * S, single=False, doubt=doubt)
    two = replace(one, circuit="c2", single=True, doubt=doubt[:1])
    store.record([one, two])
    store.record([replace(one, end=T0 + 3 * S)])
    assert store.restore().waiting == (replace(one, end=T0 + 3 * S), two)
    store.record([replace(one, end=T0 + 3 * S, seen=True), replace(two, seen=False)])
    assert store.restore().waiting == ()
    assert store.verify().ok


def test_a_blind_spell_ends_with_the_start_its_targets_gave_it(store: SqlStore) -> None:
    """A control target confirmed down later, down since before the spell began, moves the
    spell's start back (tracker.py): the record's end carries it."""
    store.record([BlindStarted(since=T0 + 5 * S, at=T0 + 7 * S)])
    store.record([BlindEnded(interval=Interval(start=T0, end=T0 + 35 * S), at=T0 + 40 * S)])
    store.record([BlindStarted(since=T0 + 50 * S, at=T0 + 52 * S)])
    store.record([BlindEnded(interval=Interval(start=T0 + 50 * S, end=T0 + 60 * S),
                             at=T0 + 61 * S)])  # fmt: skip
    assert store.blind_intervals() == [
        Interval(start=T0, end=T0 + 35 * S),
        Interval(start=T0 + 50 * S, end=T0 + 60 * S),
    ]
    assert store.verify().ok


def test_an_incident_keeps_its_first_notice_and_its_closing_reason(store: SqlStore) -> None:
    i = incident(1, T0)
    store.record([IncidentOpened(incident=i)])
    store.record([IncidentNotified(incident=Incident(**{**_fields(i), "notified": T0 + 5 * S}))])
    store.record([IncidentNotified(incident=Incident(**{**_fields(i), "notified": T0 + 9 * S}))])
    closed = Incident(
        **{**_fields(i), "end": T0 + 60 * S, "closed_reason": "removed from monitoring"}
    )
    store.record([IncidentClosed(incident=closed)])
    got = store.incident(1)
    assert got is not None and got.notified == T0 + 5 * S and got.end == T0 + 60 * S
    assert got.closed_reason == "removed from monitoring"
    assert store.incident(2) is None


def _fields(i: Incident) -> dict[str, object]:
    return {f: getattr(i, f) for f in Incident.__dataclass_fields__}


def test_restore_keeps_the_recent_closed_incidents_of_each_circuit(store: SqlStore) -> None:
    for n in range(RECENT_PER_CIRCUIT + 5):
        store.record(
            [IncidentClosed(incident=incident(n + 1, T0 + n * 60 * S, T0 + (n * 60 + 30) * S))]
        )
    store.record([IncidentOpened(incident=incident(100, T0, circuit="c2"))])
    resume = store.restore()
    assert len([i for i in resume.incidents if i.circuit == "c1"]) == RECENT_PER_CIRCUIT
    assert [i.id for i in resume.incidents if i.circuit == "c2"] == [100]


def test_restore_names_the_notices_stored_for_the_recent_closed_incidents(
    store: SqlStore,
) -> None:
    store.record([IncidentClosed(incident=incident(1, T0, T0 + 60 * S))])
    store.record([IncidentOpened(incident=incident(2, T0 + 120 * S))])
    for n in (
        replace(notice("<m1@x>"), group="primary"),
        replace(notice("<r1@x>"), kind="recovered", group="primary"),
        notice("<o1@x>"),  # stored before groups were
    ):
        store.outbox.put(n, T0)
    store.outbox.put(replace(notice("<m2@x>", incident_id=2), group="primary"), T0)
    sent = replace(notice("<r2@x>"), kind="recovered", group="escalation")
    store.outbox.record_sent(sent, T0, [], T0)
    en = replace(notice("<m1.en@x>"), group="primary", recipients=("c@x.example",))
    store.outbox.put(en, T0)  # the same notice's row in another language
    both = frozenset({"a@x.example", "b@x.example"})
    assert store.restore().notices == {1: {
        ("opened", "primary"): both | {"c@x.example"}, ("recovered", "primary"): both,
        ("opened", None): both, ("recovered", "escalation"): both,
    }}  # fmt: skip
    [got] = [i.notice for i in store.outbox.notices() if i.notice.message_id == "<r2@x>"]
    assert got == sent


def test_incidents_overlapping_a_range(store: SqlStore) -> None:
    store.record([IncidentClosed(incident=incident(1, T0, T0 + 60 * S)),
                  IncidentOpened(incident=incident(2, T0 + 600 * S)),
                  IncidentClosed(incident=incident(3, T0, T0 + 60 * S, circuit="c2"))])  # fmt: skip
    assert [i.id for i in store.incidents()] == [1, 3, 2]
    assert [i.id for i in store.incidents("c1")] == [1, 2]
    assert [i.id for i in store.incidents(None, T0 + 120 * S)] == [2]
    assert [i.id for i in store.incidents(None, None, T0 + 60 * S)] == [1, 3]


def test_start_stop_heartbeat_and_gaps(store: SqlStore) -> None:
    assert store.started(T0) is None
    store.heartbeat(T0 + 10 * S)
    store.heartbeat(T0 + 20 * S)
    gap = store.started(T0 + 60 * S)
    assert gap == Interval(start=T0 + 20 * S, end=T0 + 60 * S)
    store.stopped(T0 + 70 * S)
    assert store.started(T0 + 70 * S) is None  # a clean stop and an immediate start: no gap
    assert store.gaps() == [gap]
    assert store.restore().gaps == (gap,)


def test_a_gap_after_a_kill_starts_at_the_last_thing_the_daemon_wrote(store: SqlStore) -> None:
    """Killed 6 s after its start (its first heartbeat was 4 s away): the gap starts at the
    last path change it recorded, not at its start. (A chaos run saw a gap cover an incident
    the daemon had detected, journalled and told.)"""
    t = tracker()
    assert store.started(T0) is None
    outage(store, t, T0 + S, 4, False)  # the paths go down: recorded at T0 + 3 s
    gap = store.started(T0 + 60 * S)
    assert gap is not None and gap.start == T0 + 3 * S and gap.end == T0 + 60 * S


def test_a_deferred_recipient_does_not_hide_the_last_relay_answer(store: SqlStore) -> None:
    """The newest delivery row is a deferred recipient's, with no time: the acceptance
    written with it still says the daemon ran until then (a review found it)."""
    assert store.started(T0) is None
    item = store.outbox.put(notice("<n@x>"), T0 + S)
    assert item is not None
    ok = Delivery(recipient="a@x", relay="r1", accepted=True, at=T0 + 5 * S, code=250,
                  reply="ok", permanent=False)  # fmt: skip
    deferred = Delivery(recipient="b@x", relay="r1", accepted=False, at=None, code=450,
                        reply="try later", permanent=False)  # fmt: skip
    store.outbox.finish(item.id, [ok, deferred], T0 + 35 * S)  # then killed
    gap = store.started(T0 + 60 * S)
    assert gap is not None and gap.start == T0 + 5 * S, gap


def test_each_journal_has_its_own_id_for_good(backend: Backend, tmp_path: Path) -> None:
    first = backend.open()
    try:
        jid = first.journal_id()
    finally:
        first.close()
    again = backend.open()
    try:
        assert again.journal_id() == jid and len(jid) >= 8
    finally:
        again.close()
    with BACKENDS[backend.name](tmp_path / "other") as other_backend:
        other = other_backend.open()
        try:
            assert other.journal_id() != jid
        finally:
            other.close()


def test_first_result_is_kept_once(store: SqlStore) -> None:
    store.record([MonitoringStarted(circuit="c1", at=T0)])
    store.record([MonitoringStarted(circuit="c1", at=T0 + S)])
    assert store.first_results() == {"c1": T0}


# -- timelines ------------------------------------------------------------------------------------
def test_the_timeline_ends_with_the_change_that_ended_the_outage(store: SqlStore) -> None:
    t = tracker()
    outage(store, t, T0, 3, False)
    outage(store, t, T0 + 60 * S, 2, True)  # up since T0 + 60 s, confirmed at T0 + 61 s
    [i] = store.incidents()
    assert i.end == T0 + 60 * S
    store.record(
        [SnmpObserved(path=PATHS[0], at=T0 + S, kind="ifOperStatus", value=2, text="down")]
    )
    lines = store.timeline(i.id, T0 + 99 * S)
    ups = [e for e in lines if e.kind == "path" and " up " in e.text]
    assert len(ups) == 4 and all(e.at == T0 + 61 * S for e in ups)
    assert [e.text for e in lines if e.kind == "snmp"] == ["active/primary ifOperStatus down"]
    with pytest.raises(InputError, match="no incident 99"):
        store.timeline(99, T0)


def test_notices_and_answers_are_on_the_timeline(store: SqlStore) -> None:
    store.record([IncidentOpened(incident=incident(1, T0))])
    put = store.outbox.put(notice("<m1@x>"), T0 + 2 * S)
    assert put is not None
    [item] = store.outbox.claim_due(T0 + 2 * S, 10)
    store.outbox.finish(item.id, [delivery("a@x.example", True, T0 + 3 * S)], T0)
    texts = [e.text for e in store.timeline(1, T0 + 9 * S) if e.kind in ("notice", "delivery")]
    assert texts[0].startswith("opened <m1@x> queued") and "accepted by r1 (250 ok)" in texts[1]


def test_the_exclusion_is_on_the_timeline(store: SqlStore) -> None:
    store.record([IncidentOpened(incident=incident(1, T0))])
    assert [e for e in store.timeline(1, T0 + 9 * S) if e.kind == "exclusion"] == []
    store.exclude(1, "customer power work", T0 + 5 * S)
    [e] = [e for e in store.timeline(1, T0 + 9 * S) if e.kind == "exclusion"]
    assert e.at == T0 + 5 * S and e.text == "excluded: customer power work"


# -- maintenance windows and exclusions -------------------------------------------------------
def test_windows_are_added_listed_and_withdrawn(store: SqlStore) -> None:
    w = MaintenanceWindow(start=T0, end=T0 + 3600 * S, note="fibre", announced_at=T0 - 86_400 * S)
    added = store.add_window("c1", w, "api", T0 - 60 * S, "api 10.0.0.1")
    assert added.id is not None and added.window == w and added.recorded_by == "api 10.0.0.1"
    assert store.windows("c1") == [added] and store.windows("c2") == []
    assert store.restore().windows == (added,)
    removed = store.remove_window(added.id, T0)
    assert removed == added and store.windows() == []
    with pytest.raises(InputError, match="no announced maintenance window"):
        store.remove_window(added.id, T0)


def test_an_exclusion_needs_a_reason_and_an_incident_and_writes_nothing_otherwise(
    store: SqlStore,
) -> None:
    store.record([IncidentOpened(incident=incident(1, T0))])
    with pytest.raises(InputError, match="reason"):
        store.exclude(1, "  ", T0)
    with pytest.raises(InputError, match="no incident 7"):
        store.exclude(7, "customer", T0)
    assert store.incident(1).excluded is None  # type: ignore[union-attr]
    assert store.exclude(1, " customer cut the fibre ", T0).excluded == "customer cut the fibre"
    # a second exclusion erased the first's reason (an attack on the operator's side)
    with pytest.raises(InputError, match="already excluded \\('customer cut the fibre'\\)"):
        store.exclude(1, "oops wrong incident", T0 + S)
    assert store.incident(1).excluded == "customer cut the fibre"  # type: ignore[union-attr]


def test_snapshots_are_pruned_by_age(store: SqlStore) -> None:
    for n in range(3):
        store.snapshot(T0 + n * 3600 * S, "2026-10", "c1", {"credit": "0", "n": n})
    assert store.prune_snapshots(T0 + 3600 * S) == 1
    assert store.prune_snapshots(T0 + 3600 * S) == 0


# -- the outbox ------------------------------------------------------------------------------------
def test_a_notice_is_stored_once(store: SqlStore) -> None:
    first = store.outbox.put(notice("<m1@x>"), T0)
    assert first is not None and first.state is OutboxState.PENDING and first.attempts == 0
    assert first.notice == notice("<m1@x>")
    assert store.outbox.put(notice("<m1@x>"), T0 + S) is None
    assert [i.notice.message_id for i in store.outbox.notices()] == ["<m1@x>"]


def test_claims_are_in_the_order_stored_and_limited(store: SqlStore) -> None:
    """The order owed: an escalation stored, then a recovery due (backdated) before it, must
    not be claimed the other way round in two batches (a review found it)."""
    store.outbox.put(notice("<opened@x>", due=T0 + 10 * S), T0)
    store.outbox.put(notice("<recovered@x>", due=T0), T0)
    store.outbox.put(notice("<future@x>", due=T0 + 3600 * S), T0)
    claimed = store.outbox.claim_due(T0 + 60 * S, 1)
    assert [(c.notice.message_id, c.state, c.attempts) for c in claimed] == [
        ("<opened@x>", OutboxState.IN_FLIGHT, 1)
    ]
    again = store.outbox.claim_due(T0 + 60 * S, 10)
    assert [c.notice.message_id for c in again] == ["<recovered@x>"]
    assert {c.notice.message_id for c in store.outbox.in_flight()} == {
        "<opened@x>",
        "<recovered@x>",
    }


def test_a_notice_is_done_when_every_recipient_is_settled(store: SqlStore) -> None:
    store.outbox.put(notice("<m1@x>"), T0)
    [item] = store.outbox.claim_due(T0, 5)
    partial = [delivery("a@x.example", True, T0 + S), delivery("b@x.example", False, None)]
    assert store.outbox.finish(item.id, partial, T0 + 30 * S) is False
    assert store.outbox.claim_due(T0 + 29 * S, 5) == []  # pending again, due at the retry
    [again] = store.outbox.claim_due(T0 + 30 * S, 5)
    assert again.id == item.id and again.attempts == 2
    refused = [delivery("b@x.example", False, None, permanent=True)]
    assert store.outbox.finish(again.id, refused, T0 + 60 * S) is True
    assert store.outbox.notices(1)[0].state is OutboxState.DONE
    assert store.outbox.deliveries(item.id) == [*partial, *refused]
    assert store.outbox.in_flight() == [] and store.outbox.claim_due(T0 + 3600 * S, 5) == []


def test_each_node_s_own_view_of_an_incident(pair: tuple[SqlStore, SqlStore]) -> None:
    a, b = pair

    def seen(store: SqlStore, state: PathState, since: datetime) -> None:
        store.record(
            [PathChanged(path=p, change=Change(state=state, since=since, at=since + 2 * S))
             for p in PATHS]
        )  # fmt: skip

    seen(a, PathState.UP, T0 - 99 * S)  # before the window's hour: its latest change counts
    seen(b, PathState.UP, T0 - 3 * 3600 * S)
    seen(a, PathState.DOWN, T0)
    seen(b, PathState.DOWN, T0 + 2 * S)
    seen(b, PathState.UP, T0 + 50 * S)  # noc-b answered first: the incident ends here
    seen(a, PathState.UP, T0 + 53 * S)
    a.record([IncidentOpened(incident=incident(1, T0 + 2 * S, T0 + 50 * S))])
    assert a.node_views(1, T0 + 99 * S, 4) == {
        "noc-a": [(T0, T0 + 53 * S)],
        "noc-b": [(T0 + 2 * S, T0 + 50 * S)],
    }
    seen(b, PathState.DOWN, T0 + 60 * S)  # b's next outage is not this incident's
    assert b.node_views(1, T0 + 99 * S, 4)["noc-b"] == [(T0 + 2 * S, T0 + 50 * S)]
    assert a.node_views(99, T0, 4) == {}
