"""Where a journal lives: a SQLite file path, or a ``postgresql://`` URL (two NOC hosts).

Stdlib only, so the configuration can check a URL without loading the PostgreSQL driver. A
password never goes in the URL (it would sit in the YAML, in ``ps`` and in logs): it comes from
``journal_password_file:`` or libpq's own ``PGPASSFILE`` / ``~/.pgpass``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SCHEMES = ("postgresql://", "postgres://")

_FORM = "postgresql://USER@HOST[:PORT]/DATABASE"


def is_postgres(journal: str | Path) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, False for a file path."""
    return isinstance(journal, str) and journal.lower().startswith(SCHEMES)


def journal_name(where: str | Path) -> str:
    """How a report's footer names its journal: a file's name, a database's name."""
    if is_postgres(where):
        return str(where).rsplit("/", 1)[-1].split("?", 1)[0]
    return Path(where).name


def check_postgres_url(url: str) -> str:
    """``url`` if it names a role, a host and a database and holds no password; else
    ValueError saying what to write."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo or "password" in parse_qs(parts.query):
        raise ValueError(
            "the journal URL holds a password: remove it, and put the password on the first "
            "line of a file named by journal_password_file: (or in PGPASSFILE)"
        )
    hosts = parts.netloc.rpartition("@")[2]
    try:
        if "," not in hosts:  # libpq's host1:port1,host2:port2 is not one URL port
            parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}; write {_FORM}") from None
    if not userinfo:
        raise ValueError(f"{url!r} names no role: write {_FORM}")
    if not hosts:
        raise ValueError(
            f"{url!r} names no host: write {_FORM} (a local socket directory as "
            "%2Frun%2Fpostgresql)"
        )
    if not parts.path.strip("/"):
        raise ValueError(f"{url!r} names no database: write {_FORM}")
    return url
