"""The shared journal: one PostgreSQL database for two NOC hosts. The only module that imports
the driver (psycopg 3, synchronous: the store runs on one worker thread, aio.py).

One connection, in autocommit mode; ``transaction()`` sends ``BEGIN``/``COMMIT`` itself, and
every session runs with ``synchronous_commit = on``, so a committed transaction is on the
server's disk (and, with synchronous replication configured, on its standby) before
``transaction()`` returns: the daemon acts on a fact only once it is durable.

Reconnecting. A connection the server dropped (a restart, a failover, a cut link) is noticed
on its next use and replaced at once: if the drop is found at ``BEGIN`` or in a read, nothing
was written and the call is retried once on a new connection, so a restart costs the caller
nothing if the server is back. Otherwise the call raises :class:`JournalError` (nothing of
that transaction was written, unless the message says the link was lost *while committing*,
when the outcome is unknown) and the next call connects again. No reopening is needed.

Bounded waits (the lease must not hang behind a dead peer; numbers below): a connect gives up
after ``CONNECT_TIMEOUT_S``; libpq's TCP keepalives and ``tcp_user_timeout`` notice a silent
peer; ``statement_timeout`` and ``lock_timeout`` bound a call; and the server ends a session
that sits idle inside a transaction (a paused node) after ``idle_in_transaction_session_timeout``,
releasing the rows it held.

Failures become :class:`JournalError` with what to do (cannot connect, authentication, no
database, no privilege, a database newer than the code); a fenced notice claim becomes
:class:`FencedError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from monitor.core.errors import FencedError, JournalError
from monitor.store.db import Batching, Row
from monitor.store.postgres_schema import (
    FENCED,
    MIGRATION_LOCK,
    MIGRATIONS,
    VERSION,
    VERSIONS_TABLE,
)
from monitor.store.sql import SqlStore

Connection = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")

CONNECT_TIMEOUT_S = 5
"""Seconds to wait for a connection (per call: an unreachable server fails a call fast)."""

LIBPQ: dict[str, str | int] = {
    "application_name": "slawatch",
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 5,  # s idle before the first probe
    "keepalives_interval": 2,  # s between probes
    "keepalives_count": 3,  # probes lost: the peer is gone (~11 s on an idle link)
    "tcp_user_timeout": 10_000,  # ms a sent request may stay unacknowledged (a cut link)
}
"""libpq connection parameters besides the URL's."""

SESSION = {
    "synchronous_commit": "on",  # durable at COMMIT, whatever the server's default
    "statement_timeout": "30s",
    "lock_timeout": "5s",  # a lease row held by a stuck node fails the call, not the thread
    "idle_in_transaction_session_timeout": "10s",  # a paused node's open transaction ends
}
"""Settings of every session (sent at connect: they win over the server's and the role's)."""

MIN_SERVER = 130000
"""PostgreSQL 13 (gen_random_uuid in core); tested on 15."""


TROUBLE = ("08", "25006", "25P03", "40", "53", "55P03", "57", "58")
"""SQLSTATEs (classes and codes) of the journal's trouble, not a write's own fault: a lost
connection, a deadlock or serialisation failure, a full disk, a lock another session held
past ``lock_timeout`` (the other NOC host holds the chain's head row while it writes, or
while it is paused mid-write), a statement timeout, a server shutting down. Inside the
journal writer's batch such a failure is a :class:`JournalError`, so the whole batch is
tried again (writer.py); raised as the driver's error it failed that write alone, which the
writer took for the write's own fault and dropped: a path change, an incident, a notice."""


class _Tx:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = self._conn.execute(*_statement(sql, args))
        return cur.fetchall() if cur.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(_placeholders(sql), [tuple(r) for r in rows])


class _Reads:
    """The reads of one snapshot (:meth:`PostgresDatabase.snapshot`)."""

    def __init__(self, conn: Connection, db: PostgresDatabase) -> None:
        self._conn, self._db = conn, db

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._conn.execute(*_statement(sql, args)).fetchall()
        except psycopg.Error as exc:
            raise self._db._explain(exc) from exc


class PostgresDatabase(Batching):
    """The :class:`~monitor.store.base.Database` seam over one PostgreSQL database."""

    def __init__(self, url: str, password_file: Path | None = None) -> None:
        self.url = url
        self.name = url  # check_postgres_url refuses a URL with a password in it
        self._password_file = password_file
        self._conn: Connection | None = None

    @classmethod
    def open(cls, url: str, password_file: Path | None = None) -> PostgresDatabase:
        """Connect and migrate; JournalError if the database is newer than this code."""
        db = cls(url, password_file)
        try:
            db._migrate()
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self) -> None:
        with self.transaction() as tx:
            tx.execute("SET LOCAL statement_timeout = 0")  # a migration may take long
            tx.execute("SET LOCAL lock_timeout = '60s'")  # another node may be migrating
            tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            [(known,)] = tx.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not known:
                tx.execute(VERSIONS_TABLE)
            [(version,)] = tx.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            if version > VERSION:
                raise JournalError(
                    f"{self.name}: journal schema version {version} is newer than this "
                    f"slawatch understands ({VERSION}): upgrade slawatch on this node (every "
                    "node sharing the journal runs the same version)"
                )
            for n in range(version, VERSION):
                tx.execute(MIGRATIONS[n])
                tx.execute("INSERT INTO schema_migrations (version) VALUES (?)", (n + 1,))

    # -- the Database seam ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        if self._batch:  # part of a batch: all or nothing on its own, durable with the batch
            assert self._conn is not None
            conn = self._conn
            conn.execute("SAVEPOINT tx")
            try:
                yield _Tx(conn)
            except psycopg.Error as exc:
                _rollback_to(conn)
                if exc.sqlstate == FENCED:  # that write's own refusal: the batch goes on
                    raise self._explain(exc) from exc
                if conn.broken or (exc.sqlstate or "").startswith(TROUBLE):
                    raise self._explain(exc) from exc  # the journal's: the batch is retried
                raise
            except BaseException:
                _rollback_to(conn)
                raise
            conn.execute("RELEASE SAVEPOINT tx")
            return
        conn = self._retrying(lambda c: c.execute("BEGIN"))[1]
        committing = False
        try:
            yield _Tx(conn)
            committing = True
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            _rollback(conn)
            raise self._explain(exc, committing) from exc
        except BaseException:
            _rollback(conn)
            raise

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._retrying(lambda c: c.execute(*_statement(sql, args)).fetchall())[0]

    @contextmanager
    def snapshot(self) -> Iterator[_Reads]:
        """A read-only REPEATABLE READ transaction: every read sees the journal as of its first
        statement; writers (the nodes) are not held up."""
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        conn = self._retrying(lambda c: c.execute(begin))[1]
        try:
            yield _Reads(conn, self)
        finally:
            _rollback(conn)  # nothing was written: a read ends

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- connections ---------------------------------------------------------------------------
    def _retrying(self, call: Callable[[Connection], T]) -> tuple[T, Connection]:
        """``call(conn)`` and the connection it ran on; once more on a new connection if the
        server had dropped this one (nothing was written: ``call`` is a read or ``BEGIN``)."""
        for last in (False, True):
            conn = self._connection()
            try:
                return call(conn), conn
            except psycopg.Error as exc:
                if last or not conn.broken:
                    raise self._explain(exc) from exc
                self.close()
        raise AssertionError("unreachable")

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> Connection:
        params = dict(LIBPQ, options=" ".join(f"-c {k}={v}" for k, v in SESSION.items()))
        if self._password_file is not None:
            params["password"] = self._password()
        try:
            conn = psycopg.connect(
                psycopg.conninfo.make_conninfo(self.url, **params), autocommit=True
            )
        except psycopg.Error as exc:
            raise _cannot_connect(self.url, exc) from exc
        if conn.info.server_version < MIN_SERVER:
            conn.close()
            raise JournalError(
                f"{self.url}: PostgreSQL {conn.info.server_version // 10000} is too old: "
                "slawatch needs 13 or newer (tested on 15)"
            )
        return conn

    def _password(self) -> str:
        """The first line of ``journal_password_file`` (read at each connect: a changed
        password is picked up without a restart)."""
        path = self._password_file
        assert path is not None
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise JournalError(
                f"journal_password_file: cannot read {path}: {exc.strerror}: it must be "
                "readable by the daemon's user"
            ) from None
        if not lines or not lines[0].strip():
            raise JournalError(
                f"journal_password_file: {path} is empty: put the role's password on its first line"
            )
        return lines[0].strip()

    # -- errors --------------------------------------------------------------------------------
    def _explain(self, exc: psycopg.Error, committing: bool = False) -> JournalError:
        """A driver error as what the operator (or the shell) should do about it."""
        state = exc.sqlstate or ""
        text = exc.diag.message_primary or " ".join(str(exc).split())
        where = self.name
        if state == FENCED:
            return FencedError(
                f"{where}: notice claim refused ({text}): another node holds the lease now, "
                "or this node's lease lapsed: stop sending"
            )
        if self._conn is None or self._conn.broken or state.startswith(("08", "57P")):
            self.close()
            if committing:
                return JournalError(
                    f"{where}: connection lost while committing ({text}): the last write may "
                    "or may not be in the journal; the next call reconnects"
                )
            return JournalError(
                f"{where}: connection lost ({text}): nothing of this call was written; the "
                "next call reconnects (is the server up and reachable?)"
            )
        return JournalError(f"{where}: {_ADVICE.get(state, 'journal error')} ({text})")


_ADVICE = {
    "53100": "the database server's disk is full: free space there; nothing already "
    "recorded is lost",
    "25006": "the server is read-only (a standby?): point journal: at the primary",
    "42501": "the role lacks a privilege: make it the database's owner (deploy/ha/postgresql.md)",
    "57014": f"a statement ran past statement_timeout ({SESSION['statement_timeout']})",
    "55P03": f"waited past lock_timeout ({SESSION['lock_timeout']}) for a row another "
    "session holds (another node mid-transaction?): the next call tries again",
    "25P03": "the transaction sat idle past idle_in_transaction_session_timeout (was this "
    "process paused?)",
}
"""SQLSTATE -> what to do."""

_CONNECT_ADVICE = (
    ("password authentication failed", "authentication failed: check the password in "
     "journal_password_file (or PGPASSFILE) against the role's (ALTER ROLE ... PASSWORD)"),
    ("no password supplied", "the server asks for a password and none was given: set "
     "journal_password_file: (or PGPASSFILE)"),
    ("no pg_hba.conf entry", "the server does not let this host and role in: add a pg_hba.conf "
     "line for them and reload it (deploy/ha/postgresql.md)"),
    ("does not exist", "create the role and database first (deploy/ha/postgresql.md)"),
    ("connection refused", "nothing listens there: is PostgreSQL running, and are the host, "
     "port and the server's listen_addresses right?"),
    ("no such file", "no server socket there: is PostgreSQL running, and is the socket "
     "directory right?"),
    ("timeout", f"no answer within {CONNECT_TIMEOUT_S} s: is the host up and reachable "
     "(firewall, routes)?"),
    ("resolve host", "unknown host name: check the journal URL and DNS"),
    ("translate host", "unknown host name: check the journal URL and DNS"),
)  # fmt: skip
"""What a failed connect means, by a phrase of libpq's message (it carries no SQLSTATE)."""


def _cannot_connect(url: str, exc: psycopg.Error) -> JournalError:
    text = " ".join(str(exc).split())
    low = text.lower()
    advice = next((a for phrase, a in _CONNECT_ADVICE if phrase in low), "see the reason")
    return JournalError(f"cannot connect to the journal {url}: {advice} ({text})")


def _rollback_to(conn: Connection) -> None:
    """Undo one batched write; the batch goes on (or fails as a whole at COMMIT)."""
    if not conn.closed:
        with suppress(psycopg.Error):
            conn.execute("ROLLBACK TO SAVEPOINT tx")
            conn.execute("RELEASE SAVEPOINT tx")


def _rollback(conn: Connection) -> None:
    if not conn.closed:
        with suppress(psycopg.Error):  # gone: the server has rolled the transaction back
            conn.execute("ROLLBACK")


def _statement(sql: str, args: Sequence[Any]) -> tuple[str, tuple[Any, ...] | None]:
    """``(sql, args)`` for psycopg: ``?`` placeholders become ``%s``; a statement without
    arguments is sent as it is (a migration script holds several)."""
    return (_placeholders(sql), tuple(args)) if args else (sql, None)


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """``?`` -> ``%s`` and ``%`` -> ``%%`` (psycopg's escape), outside quoted text for ``?``."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            quote = "" if ch == quote else quote
            out.append(ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


def open_postgres(url: str, password_file: Path | None = None, node: str = "") -> SqlStore:
    """The journal in the PostgreSQL database at ``url`` (migrated as needed); the password
    from the first line of ``password_file``, else libpq's PGPASSFILE or ``~/.pgpass``."""
    return SqlStore(PostgresDatabase.open(url, password_file), node=node)
