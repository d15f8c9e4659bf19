"""The leader lease and the fencing of notice claims, on every backend (store/lease.py).

Two nodes are two stores on the same journal (two connections, as two NOC hosts have). Leases
that must expire are short, and the tests wait for the database to say they have expired,
never for a fixed time. Public store calls only: the database is what refuses a stale claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.core.errors import FencedError, InputError
from monitor.store.records import Lease, Notice, OutboxState
from monitor.store.sql import SqlStore
from tests.store.backends import Backend

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
LONG = 300.0  # s: a lease that cannot expire during a test
SHORT = 0.2  # s: a renewal that lets the lease expire soon (only right before waiting for it)
PATIENCE = 60.0  # s: how long a test waits for the database to see a lease expire


@pytest.fixture
def nodes(backend: Backend) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two nodes, a and b, on one journal."""
    a, b = backend.open(), backend.open()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def notice(mid: str) -> Notice:
    return Notice(message_id=mid, incident_id=1, circuit="c1", kind="opened",
                  recipients=("a@x.example",), body=b"body", due_at=T0)  # fmt: skip


def wait_until(what: str, ok: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {PATIENCE} s for: {what}")
        time.sleep(0.05)


def expired(store: SqlStore) -> bool:
    return not store.lease.current().live


def take(store: SqlStore, node: str, lease_s: float = LONG) -> Lease:
    got = store.lease.acquire_or_renew(node, lease_s)
    assert got is not None, f"{node} could not take the lease: {store.lease.current()}"
    return got


def lapse(store: SqlStore, node: str) -> None:
    """``node`` renews for a moment and the test waits until the database says it expired (a
    node that stopped renewing: paused, dead or cut off)."""
    take(store, node, SHORT)
    wait_until(f"{node}'s lease expires", lambda: expired(store))


# -- the lease -------------------------------------------------------------------------------------
def test_a_fresh_journal_has_a_free_lease_at_epoch_zero(store: SqlStore) -> None:
    lease = store.lease.current()
    assert lease.holder is None and lease.epoch == 0 and not lease.live
    assert lease.left == timedelta(0)


def test_the_first_holder_gets_epoch_one_and_a_lease_of_the_asked_length(store: SqlStore) -> None:
    lease = take(store, "noc-a", 30)
    assert lease.holder == "noc-a" and lease.epoch == 1 and lease.live
    assert lease.expires_at - lease.now == timedelta(seconds=30)
    assert store.lease.current().holder == "noc-a"


def test_two_nodes_racing_get_exactly_one_holder(nodes: tuple[SqlStore, SqlStore]) -> None:
    a, b = nodes
    for round_ in range(10):
        start = threading.Barrier(2)
        got: dict[str, Lease | None] = {}

        def race(store: SqlStore, node: str, start: threading.Barrier, got: dict[str, Any]) -> None:
            start.wait()
            got[node] = store.lease.acquire_or_renew(node, LONG)

        threads = [
            threading.Thread(target=race, args=(s, n, start, got)) for s, n in ((a, "a"), (b, "b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PATIENCE)
        winners = [n for n, lease in got.items() if lease is not None]
        assert len(got) == 2 and len(winners) == 1, got
        [winner] = winners
        assert a.lease.current().holder == winner
        assert got[winner].epoch == round_ + 1  # type: ignore[union-attr]
        assert (a if winner == "a" else b).lease.release(winner)


def test_a_renewal_keeps_the_epoch_and_moves_the_expiry(nodes: tuple[SqlStore, SqlStore]) -> None:
    a, b = nodes
    first = take(a, "a")
    again = take(a, "a")
    assert again.epoch == first.epoch and again.expires_at > first.expires_at
    assert b.lease.acquire_or_renew("b", LONG) is None
    assert a.lease.current().epoch == first.epoch


def test_a_takeover_after_expiry_increments_the_epoch(nodes: tuple[SqlStore, SqlStore]) -> None:
    a, b = nodes
    first = take(a, "a")
    assert b.lease.acquire_or_renew("b", LONG) is None  # live: refused
    lapse(a, "a")
    taken = take(b, "b")
    assert taken.epoch == first.epoch + 1 and taken.holder == "b"
    assert a.lease.acquire_or_renew("a", LONG) is None  # a woke up: b holds it now
    assert not a.lease.release("a")  # not a's to give back


def test_renewing_a_lapsed_lease_nobody_took_keeps_the_epoch(store: SqlStore) -> None:
    first = take(store, "a")
    lapse(store, "a")
    assert take(store, "a").epoch == first.epoch


def test_a_released_lease_goes_to_the_next_node_at_once_with_a_new_epoch(
    nodes: tuple[SqlStore, SqlStore],
) -> None:
    a, b = nodes
    first = take(a, "a")
    assert a.lease.release("a") and a.lease.current().holder is None
    assert take(b, "b").epoch == first.epoch + 1


def test_a_lease_needs_a_node_name_and_a_length(store: SqlStore) -> None:
    with pytest.raises(InputError, match="node"):
        store.lease.acquire_or_renew(" ", 30)
    with pytest.raises(InputError, match="lease_s"):
        store.lease.acquire_or_renew("a", 0)


# -- fencing -------------------------------------------------------------------------------------
def test_a_single_node_without_a_lease_claims_with_epoch_zero(store: SqlStore) -> None:
    store.outbox.put(notice("<m1@x>"), T0)
    [item] = store.outbox.claim_due(T0, 10)
    assert item.epoch == 0 and item.state is OutboxState.IN_FLIGHT


def test_the_leader_claims_under_its_epoch(store: SqlStore) -> None:
    lease = take(store, "a")
    store.outbox.put(notice("<m1@x>"), T0)
    [item] = store.outbox.claim_due(T0, 10, epoch=lease.epoch)
    assert item.epoch == lease.epoch


def test_a_claim_under_a_stale_epoch_is_refused_and_claims_nothing(
    nodes: tuple[SqlStore, SqlStore],
) -> None:
    a, b = nodes
    old = take(a, "a")
    lapse(a, "a")
    new = take(b, "b")
    a.outbox.put(notice("<m1@x>"), T0)
    with pytest.raises(FencedError):
        a.outbox.claim_due(T0, 10, epoch=old.epoch)
    assert [i.state for i in a.outbox.notices()] == [OutboxState.PENDING]
    [item] = b.outbox.claim_due(T0, 10, epoch=new.epoch)
    assert item.notice.message_id == "<m1@x>" and item.epoch == new.epoch


def test_a_node_without_a_lease_is_fenced_once_a_lease_was_taken(store: SqlStore) -> None:
    take(store, "a")
    store.outbox.put(notice("<m1@x>"), T0)
    with pytest.raises(FencedError):
        store.outbox.claim_due(T0, 10)  # epoch 0: a node started without cluster:


def test_a_lapsed_or_released_lease_fences_its_own_epoch(store: SqlStore) -> None:
    lease = take(store, "a")
    store.outbox.put(notice("<m1@x>"), T0)
    lapse(store, "a")
    with pytest.raises(FencedError):
        store.outbox.claim_due(T0, 10, epoch=lease.epoch)
    assert take(store, "a").epoch == lease.epoch  # renewed: claims pass again
    store.lease.release("a")
    with pytest.raises(FencedError):
        store.outbox.claim_due(T0, 10, epoch=lease.epoch)


def test_the_new_leader_claims_the_orphan_as_the_same_row(nodes: tuple[SqlStore, SqlStore]) -> None:
    a, b = nodes
    old = take(a, "a")
    a.outbox.put(notice("<m1@x>"), T0)
    [sent] = a.outbox.claim_due(T0, 10, epoch=old.epoch)  # ...and a dies before finishing
    lapse(a, "a")
    new = take(b, "b")
    assert b.outbox.claim_due(T0 + timedelta(hours=1), 10, epoch=new.epoch) == []
    [orphan] = b.outbox.claim_orphans(new.epoch)
    assert (orphan.id, orphan.notice) == (sent.id, sent.notice)  # same Message-ID, same bytes
    assert orphan.epoch == new.epoch and orphan.attempts == 2
    with pytest.raises(FencedError):
        a.outbox.claim_orphans(old.epoch)  # a wakes up and tries to take it back
    assert [i.epoch for i in b.outbox.in_flight()] == [new.epoch]


def test_orphans_of_a_restarted_single_node_are_claimed_again(backend: Backend) -> None:
    first = backend.open()
    first.outbox.put(notice("<m1@x>"), T0)
    [sent] = first.outbox.claim_due(T0, 10)
    first.close()  # died mid-send
    again = backend.open()
    try:
        [orphan] = again.outbox.claim_orphans()
        assert orphan.id == sent.id and orphan.notice.message_id == "<m1@x>"
        assert orphan.attempts == 2 and orphan.state is OutboxState.IN_FLIGHT
    finally:
        again.close()
