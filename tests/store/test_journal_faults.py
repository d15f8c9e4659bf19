"""The SQLite journal against real failures: corrupt file, read-only mount, full disk, kill -9.

What every backend must do is tests/store/test_contract.py; this is what a file on a disk
adds: the disk can be full, read-only or scribbled on, and the process can die mid-write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.errors import JournalError
from monitor.core.model import Demarc, PathKey, PathState, Router
from monitor.core.paths import Change
from monitor.core.tracker import CircuitSpec, PathChanged, Tracker
from monitor.service.writer import Writer
from monitor.store.aio import AsyncStore
from monitor.store.schema import VERSION
from monitor.store.sql import SqlStore
from monitor.store.sqlite import open_sqlite
from tests import support

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)
PATHS = tuple(PathKey(circuit="c1", router=r, demarc=d) for r in Router for d in Demarc)


def outage(j: SqlStore, t: Tracker, start: datetime, ticks: int, ok: bool) -> None:
    for i in range(ticks):
        for p in PATHS:
            j.record(t.observe(p, start + i * S, ok))


def new_tracker() -> Tracker:
    return Tracker([CircuitSpec(id="c1", paths=PATHS)])


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only): a disk that really fills up and can be made read-only (the
    chain's pages make each transaction's WAL frames larger than 256 KiB holds)."""
    with support.small_disk(tmp_path / "mnt", "1m") as mnt:
        yield mnt


def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    j = open_sqlite(path)
    outage(j, new_tracker(), T0, 3, False)
    j.close()
    data = bytearray(path.read_bytes())
    data[100:4000] = os.urandom(3900)  # scribble over the header and first pages
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(JournalError, match=r"not a usable SQLite journal|move it aside"):
        open_sqlite(path)
    assert path.read_bytes() == before


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="not a usable SQLite journal"):
        open_sqlite(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def hide_a_null(path: Path) -> None:
    """Damage only a whole read finds: a NULL in a NOT NULL column of a table no query uses
    (SQLite checks the constraint when a row is written, ``quick_check`` when it reads all)."""
    import sqlite3

    def schema(sql: str) -> None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA writable_schema = ON")
            db.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'side'", (sql,))
            db.commit()

    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE side (x INTEGER NOT NULL)")
        db.commit()
    schema("CREATE TABLE side (x INTEGER)")
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("INSERT INTO side VALUES (NULL)")
        db.commit()
    schema("CREATE TABLE side (x INTEGER NOT NULL)")


def test_the_daemon_and_verify_read_the_whole_file_the_reading_commands_do_not(
    tmp_path: Path,
) -> None:
    """A whole read costs ~4 s a GiB: the daemon's start and ``slawatch verify`` pay it,
    ``report``, ``status`` and the like do not (damage they reach is still an error)."""
    path = tmp_path / "j.db"
    j = open_sqlite(path)
    outage(j, new_tracker(), T0, 3, False)
    j.close()
    hide_a_null(path)
    with pytest.raises(JournalError, match=r"not a usable SQLite journal \(quick_check: NULL"):
        open_sqlite(path)  # the daemon's open
    reader = open_sqlite(path, check=False)
    try:
        assert [i.circuit for i in reader.incidents(None, T0 - S, T0 + 60 * S)] == ["c1"]
    finally:
        reader.close()
    run = [sys.executable, "-m", "monitor"]
    verify = subprocess.run([*run, "verify", "--journal", str(path)], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert verify.returncode != 0 and "quick_check: NULL value in side.x" in verify.stderr
    report = subprocess.run([*run, "report", "--journal", str(path), "--month", "2026-10"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "demo-loopback" in report.stdout  # the demo config's circuit, read from the journal


@pytest.mark.parametrize("made", ["empty", "another"])
def test_the_commands_refuse_a_file_that_holds_no_journal_and_leave_it_alone(
    tmp_path: Path, made: str
) -> None:
    """A wrong --journal path: ``verify`` made the file a journal and said "chain intact: 0
    records", ``report`` said no unavailability this month (an attack on the operator's side
    found both)."""
    import sqlite3

    path = tmp_path / "other.db"
    path.write_bytes(b"")
    if made == "another":
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE foo (x)")
            db.commit()
    before = path.read_bytes()
    run = [sys.executable, "-m", "monitor"]
    for args in (["verify"], ["report", "--month", "2026-10"]):
        done = subprocess.run([*run, *args, "--journal", str(path)], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 2, (args, done.stdout)
        assert "is not a slawatch journal" in done.stderr, done.stderr
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    open_sqlite(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")
    with pytest.raises(JournalError, match="newer than this slawatch"):
        open_sqlite(path)


def test_read_only_mount(tmpfs: Path) -> None:
    path = tmpfs / "j.db"
    j = open_sqlite(path)
    outage(j, new_tracker(), T0, 3, False)
    j.close()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(JournalError, match=r"read-only|cannot open"):
        j = open_sqlite(path)
        j.heartbeat(T0)


def test_full_disk_fails_clearly_and_loses_nothing(tmpfs: Path) -> None:
    path = tmpfs / "j.db"
    j = open_sqlite(path)
    t = new_tracker()
    outage(j, t, T0, 3, False)
    committed = j.incidents()
    filler = tmpfs / "filler"
    # take what space is left, then write until SQLite fails
    with contextlib.suppress(OSError), open(filler, "wb") as fh:
        fh.write(b"\0" * 1024 * 1024)
    with pytest.raises(JournalError, match="disk full"):
        for i in range(10_000):
            j.snapshot(T0 + i * S, "2026-10", "c1", {"pad": "x" * 4000})
    filler.unlink()
    assert j.incidents() == committed
    j.heartbeat(T0 + 99 * S)  # writes work again once there is space
    j.close()
    assert open_sqlite(path).incidents() == committed


def test_kill_9_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from datetime import UTC, datetime, timedelta
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.store.test_journal_faults import PATHS, T0, S, new_tracker
        from monitor.store.sqlite import open_sqlite
        j = open_sqlite({str(path)!r})
        t = new_tracker()
        for i in range(5):
            for p in PATHS:
                j.record(t.observe(p, T0 + i * S, False))
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL and "committed" in done.stdout
    state = open_sqlite(path).restore()
    assert len(state.incidents) == 1 and state.incidents[0].start == T0


def test_a_batch_the_full_disk_refuses_at_its_commit_leaves_the_known_head_alone(
    tmpfs: Path,
) -> None:
    """SQLite keeps a transaction's pages in memory and writes them at COMMIT, so a full disk
    fails the journal writer's batch there, after every write of it went through. The head
    the store "knows" (a notice rendered while the journal refuses writes carries it) moved
    to the batch's last record anyway before the fix: a record the journal never held, whose
    number the journal later gives to another record with another hash."""
    j = open_sqlite(tmpfs / "j.db")
    t = new_tracker()
    outage(j, t, T0, 3, False)
    committed = j.head()
    with contextlib.suppress(OSError), open(tmpfs / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()
    with pytest.raises(JournalError, match="disk full"), j.batch():  # as the writer runs it
        outage(j, t, T0 + 10 * S, 3, True)
    assert j.known_head == committed
    assert j.head() == committed
    j.close()


async def test_a_write_the_full_journal_refuses_inside_a_batch_is_retried_not_dropped(
    tmp_path: Path,
) -> None:
    """SQLITE_FULL at a statement (the file may not grow: ``max_page_count``), inside the
    journal writer's batch: before the fix the driver's error failed that write alone and the
    writer dropped it as the write's own fault (path changes lost)."""
    store = SqlStore(open_sqlite(tmp_path / "j.db").db)
    [(pages,)] = store.db.query("PRAGMA page_count")
    store.db.query(f"PRAGMA max_page_count = {pages}")
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    refused = asyncio.Event()
    writer: Writer[SqlStore] = Writer(journal, on_error=refused.set)
    runner = asyncio.create_task(writer.run())
    facts = [
        PathChanged(path=p, change=Change(state=state, since=T0 + n * S, at=T0 + n * S))
        for n, state in enumerate([PathState.DOWN, PathState.UP] * 20)
        for p in PATHS
    ]
    try:
        written = writer.write(lambda s: s.record(facts))
        async with asyncio.timeout(10):
            await refused.wait()  # the journal is full: the writer retries
        await journal.run(lambda s: s.db.query("PRAGMA max_page_count = 1000000"))
        async with asyncio.timeout(30):
            assert await written is True
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal.close()
    reopened = open_sqlite(tmp_path / "j.db")
    try:
        assert len(reopened.db.query("SELECT id FROM path_changes")) == len(facts) > 8
        assert reopened.verify().ok
    finally:
        reopened.close()
