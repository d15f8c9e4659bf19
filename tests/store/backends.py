"""The store backends the contract suite runs against.

A backend here is a place a journal lives (a SQLite file, a PostgreSQL database) and a way to
open a store on it, as often as a test wants (reopening is how restarts are tested). A new
backend joins the suite by adding itself to :data:`BACKENDS`; every test in
``test_contract.py`` and ``test_lease.py`` then runs against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from monitor.store import open_store
from monitor.store.sql import SqlStore
from monitor.store.sqlite import open_sqlite
from tests.store import pg_cluster


class Backend(Protocol):
    name: str

    def open(self, node: str = "") -> SqlStore:
        """A store on this backend's journal (the same journal every time), as NOC host
        ``node`` (empty: the only one)."""
        ...


class SqliteBackend:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, node: str = "") -> SqlStore:
        return SqlStore(open_sqlite(self.path).db, node=node)


@contextmanager
def sqlite_backend(tmp: Path) -> Iterator[Backend]:
    yield SqliteBackend(tmp / "journal.db")


class PostgresBackend:
    """A fresh database in the session's cluster, opened as the daemon does: by URL, as the
    role ``slawatch``, with the password from a file."""

    name = "postgresql"

    def __init__(self, cluster: pg_cluster.PgCluster, database: str) -> None:
        self.cluster = cluster
        self.database = database
        self.url = cluster.url(database)

    def open(self, node: str = "") -> SqlStore:
        store = open_store(self.url, password_file=self.cluster.password_file, node=node)
        assert isinstance(store, SqlStore)
        return store


@contextmanager
def postgres_backend(tmp: Path) -> Iterator[Backend]:
    cluster = pg_cluster.shared()
    database = cluster.create_database()
    try:
        yield PostgresBackend(cluster, database)
    finally:
        cluster.drop_database(database)


BACKENDS: dict[str, Callable[[Path], AbstractContextManager[Backend]]] = {
    "postgresql": postgres_backend,
    "sqlite": sqlite_backend,
}
