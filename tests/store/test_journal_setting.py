"""The ``journal:`` setting: a SQLite path or a PostgreSQL URL, and never a password in the YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.config import Settings, parse
from monitor.core.errors import ConfigError

CIRCUIT = {
    "id": "c1",
    "monthly_fee_yen": 1,
    "contacts": ["noc@x.example"],
    "paths": [{"router": "active", "demarc": "primary", "address": "192.0.2.1"}],
}


def settings(**keys: Any) -> Settings:
    return parse({"circuits": [CIRCUIT], **keys})


def test_a_path_is_a_sqlite_file_and_the_default_is_unchanged() -> None:
    assert settings().journal == Path("./var/slawatch.db")
    assert settings(journal="/var/lib/slawatch/j.db").journal == Path("/var/lib/slawatch/j.db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://slawatch@db.noc.example/slawatch",
        "postgres://slawatch@[2001:db8::5]:5433/slawatch?sslmode=verify-full",
        "postgresql://slawatch@%2Frun%2Fpostgresql/slawatch",
        "postgresql://slawatch@db1:5432,db2:5432/slawatch?target_session_attrs=read-write",
    ],
)
def test_a_postgresql_url_is_kept_as_written(url: str, tmp_path: Path) -> None:
    s = settings(journal=url, journal_password_file=str(tmp_path / "pw"))
    assert s.journal == url and s.journal_password_file == tmp_path / "pw"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://slawatch:s3cret@db/slawatch", "holds a password: remove it"),
        ("postgresql://slawatch:@db/slawatch", "holds a password: remove it"),
        ("postgresql://slawatch@db/slawatch?password=s3cret", "holds a password: remove it"),
        ("postgresql://db/slawatch", "names no role"),
        ("postgresql://slawatch@db", "names no database"),
        ("postgresql://slawatch@/slawatch", "names no host"),
        ("postgresql://slawatch@db:99999/slawatch", "out of range"),
    ],
)
def test_a_bad_url_is_refused_with_the_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings(journal=url)
    assert "s3cret" not in str(caught.value)
    assert "journal:" in str(caught.value)


def test_a_password_in_the_url_is_told_where_it_goes() -> None:
    with pytest.raises(ConfigError, match=r"journal_password_file: \(or in PGPASSFILE\)"):
        settings(journal="postgresql://slawatch:s3cret@db/slawatch")


def test_a_password_file_needs_a_postgresql_journal() -> None:
    with pytest.raises(ConfigError, match="only a postgresql:// journal takes a password"):
        settings(journal="./j.db", journal_password_file="/etc/slawatch/pg")
