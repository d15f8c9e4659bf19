"""The journal: every fact the daemon acts on is written here first (durably), and the daemon's
state is rebuilt from it after a restart.

Two backends behind one contract (base.py): a SQLite file (the default: one node, nothing to
install) and a PostgreSQL database (two NOC hosts sharing one journal). :func:`open_store` picks
one from the ``journal:`` setting. sqlite.py is the only module that imports sqlite3 and
postgres.py the only one that imports psycopg (loaded only for a ``postgresql://`` journal).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.errors import ConfigError
from monitor.core.location import check_postgres_url, is_postgres

if TYPE_CHECKING:  # keep this package light: psycopg and sqlite3 load on demand
    from monitor.store.base import Store


def open_store(
    journal: str | Path,
    *,
    password_file: Path | None = None,
    node: str = "",
    check: bool = True,
    read: bool = False,
    own: bool = False,
) -> Store:
    """The journal named by ``journal:``: a ``postgresql://USER@HOST[:PORT]/DB`` URL (password
    from ``password_file``, the setting ``journal_password_file:``, else libpq's PGPASSFILE or
    ``~/.pgpass``) or a SQLite file path (created if missing). Migrates it as needed;
    JournalError if it cannot be opened or is newer than this code, ConfigError for a bad URL
    or a password file given with a file journal. ``check``: read a SQLite file whole for
    damage first (``PRAGMA quick_check``, ~4 s a GiB): the daemon's start and ``slawatch
    verify`` do; the reading commands do not (a damaged page they reach is still an error).
    ``read``: a command's, which refuses a SQLite file that holds no journal rather than
    making it one; ``own``: the daemon's, the one running on a SQLite journal (store/owner.py)."""
    if is_postgres(journal):
        assert isinstance(journal, str)
        try:
            check_postgres_url(journal)
        except ValueError as exc:
            raise ConfigError(f"journal: {exc}") from None
        from monitor.store.postgres import open_postgres  # psycopg only when configured

        return open_postgres(journal, password_file, node)
    if password_file is not None:
        raise ConfigError(
            "journal_password_file: only a postgresql:// journal takes a password; remove it "
            "or set journal: to a postgresql:// URL"
        )
    from monitor.store.sqlite import open_sqlite

    return open_sqlite(journal, check=check, create=not read, own=own)
