"""The journal: every fact the daemon acts on, written durably first, and the record every
report, API answer and claim is made from.

``base.py`` is the contract (the ``Store`` protocol and the SQL seam), ``sql.py`` every query,
``outbox.py`` the durable outbox, ``sqlite.py`` the embedded backend (the only sqlite3
importer), ``aio.py`` the store off the event loop. :func:`open_store` picks the backend.
"""

from __future__ import annotations

from pathlib import Path

from monitor.store.base import Store


def open_store(journal: str | Path) -> Store:
    """The journal named by the configuration's ``journal`` (a SQLite file's path)."""
    from monitor.store.sqlite import open_sqlite

    return open_sqlite(journal)
