"""The hash chain with two NOC hosts on one journal (issues 13 and 14 together).

Each test failed before its fix: ``verify`` read the chain, the head and the rows in separate
statements, so a write the other node committed in between read as tampering; a chained write
that waited past ``lock_timeout`` for the head row (held by the other node) failed alone inside
the journal writer's batch, as if it were that write's own fault, and was dropped, not retried;
and the head this process "last wrote" (the gauge's, and the one a notice sent from memory
carries) came from a batch that never committed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from monitor.core.chain import ChainHead
from monitor.core.errors import JournalError
from monitor.core.model import PathState
from monitor.core.paths import Change
from monitor.core.tracker import IncidentOpened, PathChanged
from monitor.service.writer import Writer
from monitor.store.aio import AsyncStore
from monitor.store.db import Database, Row
from monitor.store.sql import SqlStore
from monitor.store.verify import verify
from tests.core.helpers import PATHS
from tests.store.test_fenced_writes import incident
from tests.store.test_lease import LONG, lapse, notice, take

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)


def change(n: int, state: PathState = PathState.DOWN) -> PathChanged:
    return PathChanged(path=PATHS[n % len(PATHS)], change=Change(state=state, since=T0, at=T0))


class Meanwhile:
    """The journal as ``verify`` reads it, with ``write`` (the other node's) committed right
    after verify's first read of the chain's records."""

    def __init__(self, db: Any, write: Callable[[], None]) -> None:
        self.db, self.write, self.name = db, write, "meanwhile"

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.db.query(sql, args)
        if "FROM chain WHERE" in sql and self.write is not None:
            self.write()
            self.write = None  # type: ignore[assignment]
        return rows

    @contextmanager
    def snapshot(self) -> Iterator[Meanwhile]:
        with self.db.snapshot() as reads:
            yield Meanwhile(reads, self.write)


def test_verify_on_a_live_journal_is_not_fooled_by_the_other_nodes_write(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    a.record([change(0), change(1)])
    b.record([change(0)])
    db: Database = Meanwhile(a.db, lambda: b.record([change(2)]))  # type: ignore[assignment]
    check = verify(db)
    assert check.ok, check.problem
    assert check.records == 3  # the chain as it stood when verify began
    after = a.verify()
    assert after.ok and after.records == 4


@contextmanager
def head_held(store: SqlStore) -> Iterator[threading.Event]:
    """``store``'s node holds the chain's head row (mid-write, or paused mid-write) until the
    event is set."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.chain.transaction() as tx:
            tx.head()
            locked.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert locked.wait(10)
        yield release
    finally:
        release.set()
        t.join(10)


def short_lock_timeout(store: SqlStore) -> None:
    """The session's lock_timeout (5 s in production) cut to 0.2 s, so the test is short."""
    store.db.query("SELECT set_config('lock_timeout', '200ms', false)")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite: one writer
async def test_a_write_that_times_out_on_the_head_lock_is_retried_not_dropped(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    lease = take(b, "noc-b", LONG)
    short_lock_timeout(b)
    store = AsyncStore(b, ThreadPoolExecutor(max_workers=1))
    refused = asyncio.Event()  # the writer saw the journal refuse the write (and will retry)
    writer: Writer[SqlStore] = Writer(store, on_error=refused.set)
    runner = asyncio.create_task(writer.run())
    facts = [change(0), IncidentOpened(incident=incident(1, "c-x"))]
    try:
        with head_held(a) as release:
            written = writer.write(lambda s: s.record(facts, epoch=lease.epoch))
            waiting = asyncio.ensure_future(refused.wait())
            async with asyncio.timeout(10):
                await asyncio.wait({waiting, written}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            release.set()
            async with asyncio.timeout(10):
                assert await written is True
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await store.close()
    assert [i.id for i in b.incidents()] == [1]
    assert b.verify().ok


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # kills a session
def test_the_known_head_is_a_committed_one(pair: tuple[SqlStore, SqlStore]) -> None:
    a, b = pair
    b.record([change(0)])
    committed = b.head()
    [(pid,)] = b.db.query("SELECT pg_backend_pid()")
    with pytest.raises(JournalError), b.batch():  # as the journal writer runs every write
        b.record([change(1)])
        a.db.query("SELECT pg_terminate_backend(?)", (pid,))
    assert b.known_head == committed  # what a notice rendered now would carry
    assert b.head() == committed  # nothing of the batch is in the journal


def test_two_nodes_writing_at_once_make_one_chain_and_each_notice_its_head(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    """The leader (fenced facts, stamped notices, lease renewals) and the standby (its path
    changes, its tries at the lease) write at once, as the journal writer batches them: no
    deadlock between the head row and the lease row, one gapless chain, and each notice
    stamped with the record right before its own."""
    a, b = pair
    lease = take(a, "noc-a", LONG)
    stamped: dict[str, ChainHead] = {}
    failures: list[BaseException] = []

    def stamp(mid: str, head: ChainHead) -> bytes:
        stamped[mid] = head
        return f"notice {mid} at {head.text}".encode()

    def leader() -> None:
        for n in range(40):
            with a.batch():
                a.record([change(n), IncidentOpened(incident=incident(n + 1, "c-x"))],
                         epoch=lease.epoch)  # fmt: skip
                mid = f"<m{n}@x>"
                a.outbox.put(notice(mid), T0, partial(stamp, mid), epoch=lease.epoch)
            assert a.lease.acquire_or_renew("noc-a", LONG) is not None

    def standby() -> None:
        for n in range(40):
            with b.batch():
                b.record([change(n, PathState.UP)])
                b.record([change(n)])
            assert b.lease.acquire_or_renew("noc-b", LONG) is None

    def run(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (leader, standby)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    check = a.verify()
    assert check.ok, check.problem
    assert check.records == 40 * 3 + 40 * 2  # every fact, once, in one order
    for item in a.outbox.notices():
        [own] = a.chain_seqs("outbox", [str(item.id)])
        head = stamped[item.notice.message_id]
        assert own == head.seq + 1
        [before] = a.chain_records(head.seq, head.seq)
        assert before.hash == head.hash


def test_a_fenced_batch_chains_exactly_what_the_tables_hold(
    pair: tuple[SqlStore, SqlStore],
) -> None:
    a, b = pair
    old = take(a, "noc-a")
    lapse(a, "noc-a")
    take(b, "noc-b", LONG)
    before = a.head().seq
    refused = [change(0), IncidentOpened(incident=incident(1, "c-x")), change(1)]
    assert a.record(refused, epoch=old.epoch) is False
    records = a.chain_records(before + 1, a.head().seq)
    assert [r.kind for r in records] == ["path_changes", "path_changes"]
    assert a.incidents() == []
    check = b.verify()
    assert check.ok and check.records == a.head().seq
