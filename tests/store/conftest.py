"""The store fixtures: every backend of tests/store/backends.py, and a journal on each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.sql import SqlStore
from tests.store import pg_cluster
from tests.store.backends import BACKENDS, Backend


@pytest.fixture(scope="session", autouse=True)
def _postgres_stops_at_the_end() -> Iterator[None]:
    """The session's PostgreSQL cluster (if a test started it) is stopped and removed."""
    yield
    pg_cluster.stop_shared()


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with BACKENDS[request.param](tmp_path) as b:
        yield b


@pytest.fixture
def store(backend: Backend) -> Iterator[SqlStore]:
    s = backend.open()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def pair(backend: Backend) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two NOC hosts' stores on one journal: noc-a and noc-b."""
    a, b = backend.open("noc-a"), backend.open("noc-b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()
