"""The embedded journal: one SQLite file. The only module that imports sqlite3.

``synchronous=FULL`` in WAL mode makes each committed transaction durable (fsynced) before
``transaction()`` returns, so the daemon acts on a fact only once it is on disk. Failures are
translated here into :class:`JournalError` with a message that says what to do (corrupt file,
read-only file or directory, full disk). An existing journal is never deleted or rewritten
behind the operator's back.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.core.errors import FencedError, JournalError
from monitor.store.db import Batching, Row
from monitor.store.owner import Owner, take
from monitor.store.schema import MIGRATIONS, VERSION
from monitor.store.sql import SqlStore

TROUBLE = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})
"""SQLite's primary result codes of the journal's trouble, not a write's own fault: BUSY,
LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB. Inside the journal
writer's batch such a failure is a :class:`JournalError`, so the whole batch is tried again
(writer.py); raised as the driver's error it failed that write alone, and the writer dropped
it as the write's own fault (as on PostgreSQL, store/postgres.py ``TROUBLE``)."""


def _trouble(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in TROUBLE


def explain(path: Path, exc: sqlite3.Error) -> JournalError:
    """A sqlite3 error as what the operator should do about it."""
    text = str(exc)
    low = text.lower()
    if low.startswith("fenced"):
        return FencedError(
            f"{path}: notice claim refused ({text}): another node holds the lease now, or "
            "this node's lease lapsed: stop sending"
        )
    if "full" in low:
        return JournalError(
            f"journal write failed: disk full ({path}): free space; nothing already recorded "
            "is lost"
        )
    if "readonly" in low or "read-only" in low:
        return JournalError(
            f"{path}: read-only: the daemon needs write access to the file and its directory "
            "(for the -wal and -shm files)"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return JournalError(
            f"{path} is not a usable SQLite journal ({text}): move it aside (keep it for the "
            "audit) and restart; a new journal is started"
        )
    if "unable to open" in low:
        return JournalError(
            f"{path}: cannot open ({text}): check the directory exists and is writable by the "
            "daemon's user"
        )
    return JournalError(f"{path}: journal error: {text}")


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, [tuple(r) for r in rows])


class SqliteDatabase(Batching):
    """The :class:`~monitor.store.base.Database` seam over one SQLite file."""

    def __init__(self, conn: sqlite3.Connection, path: Path, owner: Owner | None = None) -> None:
        self._conn = conn
        self._owner = owner
        self.path = path
        self.name = str(path)
        self._began: int | None = None
        conn.create_function("journal_now_us", 0, self._now_us)

    def _now_us(self) -> int:
        """``journal_now_us()``: this host's clock in microseconds since the epoch, read once
        per transaction (when it began, as PostgreSQL's ``now()``), so one statement sees
        one time."""
        return self._began if self._began is not None else time.time_ns() // 1000

    @classmethod
    def open(
        cls, path: str | Path, *, check: bool = True, create: bool = True, own: bool = False
    ) -> SqliteDatabase:
        """Open (creating if missing) and migrate the journal at ``path``. ``check``: first
        read the whole file for damage (``PRAGMA quick_check``: 0.18 s for 43 MiB);
        ``create``: False for a reader, which refuses a file that holds no journal (an empty
        file, another program's database) rather than making it one; ``own``: hold it as the
        one daemon running on it (owner.py), JournalError if another does."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(
                f"{p.parent}: cannot create the journal directory: {exc.strerror}"
            ) from None
        owner = take(p) if own else None
        try:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            if owner is not None:
                owner.release()
            raise explain(p, exc) from exc
        db = cls(conn, p, owner)
        try:
            db._setup(check, create)
        except sqlite3.Error as exc:
            db.close()
            raise explain(p, exc) from exc
        except JournalError:
            db.close()
            raise
        return db

    def _setup(self, check: bool, create: bool) -> None:
        db = self._conn
        db.execute("PRAGMA busy_timeout = 5000")
        found = db.execute("PRAGMA quick_check").fetchone()[0] if check else "ok"
        if found != "ok":
            raise JournalError(
                f"{self.path} is not a usable SQLite journal (quick_check: {found}): move it "
                "aside and restart; a new one is started"
            )
        if not create and db.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise JournalError(  # before anything is written to it (WAL mode is, in the header)
                f"{self.path} is not a slawatch journal (it holds none of the journal's "
                "tables): check the path given with --journal or as journal: in the "
                "configuration"
            )
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise JournalError(
                f"{self.path}: journal schema version {version} is newer than this slawatch "
                f"understands ({VERSION}): upgrade slawatch"
            )
        for n in range(version, VERSION):
            with self.transaction() as tx:
                for statement in _statements(MIGRATIONS[n]):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {n + 1}")

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        conn = self._conn
        if self._batch:  # part of a batch: all or nothing on its own, durable with the batch
            conn.execute("SAVEPOINT tx")
            try:
                yield _Tx(conn)
            except BaseException as exc:
                conn.execute("ROLLBACK TO tx")
                conn.execute("RELEASE tx")
                if isinstance(exc, sqlite3.Error) and str(exc).lower().startswith("fenced"):
                    raise explain(self.path, exc) from exc  # that write's own refusal
                if isinstance(exc, sqlite3.Error) and _trouble(exc):
                    raise explain(self.path, exc) from exc  # the journal's: batch retried
                raise
            conn.execute("RELEASE tx")
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._began = time.time_ns() // 1000
            try:
                yield _Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise explain(self.path, exc) from exc
        finally:
            self._began = None

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise explain(self.path, exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[SqliteDatabase]:
        """A deferred read transaction: in WAL mode it reads one snapshot (taken at its first
        read) while writers go on."""
        conn = self._conn
        if conn.in_transaction:  # inside a write of our own: that is one moment already
            yield self
            return
        try:
            conn.execute("BEGIN DEFERRED")
        except sqlite3.Error as exc:
            raise explain(self.path, exc) from exc
        try:
            yield self
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # nothing was written: a read ends

    def close(self) -> None:
        self._conn.close()
        if self._owner is not None:
            self._owner.release()


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script, whole (a trigger's body holds semicolons)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


def open_sqlite(
    path: str | Path, *, check: bool = True, create: bool = True, own: bool = False
) -> SqlStore:
    """The journal in the SQLite file at ``path`` (created and migrated as needed; ``check``,
    ``create``, ``own``: see ``SqliteDatabase.open``)."""
    return SqlStore(SqliteDatabase.open(path, check=check, create=create, own=own))
