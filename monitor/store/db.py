"""The SQL seam a store backend provides (see base.py): durable transactions and reads.

A leaf of ``monitor/store``: the queries (sql.py, outbox.py, lease.py) and the backends
(sqlite.py, postgres.py) meet here without importing one another.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction: statements run in order, all or nothing."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (``RETURNING`` included), else ``[]``."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Reads(Protocol):
    """Something to read the journal with: a :class:`Database`, or one of its snapshots."""

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...


class Database(Protocol):
    """A backend's connection: ``transaction()`` commits durably (fsynced) on a clean exit and
    rolls back on an exception; ``query`` reads outside a write transaction."""

    name: str
    """Where it is, for messages: a file path or a connection URL without the password."""

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def batch(self) -> AbstractContextManager[None]:
        """Make the transactions opened inside one: each stays all or nothing on its own (a
        savepoint), and one durable commit at the end makes them all durable (one fsync for
        many writes). A failure at that commit loses them all: the caller retries the lot."""
        ...

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...
    def snapshot(self) -> AbstractContextManager[Reads]:
        """Reads that all see the journal as it stood at one moment (what other sessions
        commit meanwhile is not seen), without holding up writers: a check that reads in
        several statements (verify.py) on a journal that a daemon, or two, go on writing."""
        ...

    def close(self) -> None: ...


class Batching:
    """``Database.batch`` for a backend whose ``transaction()`` makes a savepoint, not a new
    transaction, while ``_batch`` is set (both backends' rule)."""

    _batch = False

    def transaction(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Transactions inside are one: a savepoint each, one durable COMMIT at the end."""
        if self._batch:
            yield
            return
        with self.transaction():
            self._batch = True
            try:
                yield
            finally:
                self._batch = False
