"""What a PostgreSQL journal adds to the contract: a server that can refuse us, restart, be
newer than the code or run on another clock. Against a real cluster (tests/store/pg_cluster.py);
the contract itself (test_contract.py, test_lease.py) runs on it through BACKENDS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.errors import ConfigError, JournalError
from monitor.core.tracker import IncidentOpened
from monitor.store import open_store
from monitor.store.postgres_schema import VERSION
from monitor.store.records import Lease
from monitor.store.sql import SqlStore
from tests.store.pg_cluster import ROLE, PgCluster, shared
from tests.store.test_contract import T0, incident
from tests.store.test_lease import expired, lapse, notice, take, wait_until


@pytest.fixture
def pg() -> PgCluster:
    return shared()


@pytest.fixture
def database(pg: PgCluster) -> Iterator[str]:
    name = pg.create_database()
    try:
        yield name
    finally:
        pg.drop_database(name)


def open_(pg: PgCluster, database: str) -> SqlStore:
    return open_store(pg.url(database), password_file=pg.password_file)


# -- opening --------------------------------------------------------------------------------------
def test_a_database_newer_than_the_code_is_refused_and_left_alone(
    pg: PgCluster, database: str
) -> None:
    store = open_(pg, database)
    jid = store.journal_id()
    store.close()
    pg.psql(f"INSERT INTO schema_migrations (version) VALUES ({VERSION + 1})", database)
    with pytest.raises(JournalError, match=rf"version {VERSION + 1} is newer than this slawatch"):
        open_(pg, database)
    assert pg.psql("SELECT value FROM meta WHERE key = 'journal_id'", database) == jid


def test_two_nodes_starting_together_migrate_once(pg: PgCluster, database: str) -> None:
    opened: list[SqlStore | BaseException] = []
    start = threading.Barrier(3)

    def node() -> None:
        start.wait()
        try:
            opened.append(open_(pg, database))
        except BaseException as exc:
            opened.append(exc)

    threads = [threading.Thread(target=node) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stores = [s for s in opened if isinstance(s, SqlStore)]
    try:
        assert len(stores) == 3, opened
        assert len({s.journal_id() for s in stores}) == 1
        versions = pg.psql("SELECT string_agg(version::text, ',') FROM schema_migrations", database)
        assert versions == ",".join(str(v + 1) for v in range(VERSION))
    finally:
        for s in stores:
            s.close()


def test_the_password_comes_from_pgpassfile_without_a_password_file(
    pg: PgCluster, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg.port}:{database}:{ROLE}:{pg.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    open_store(pg.url(database)).close()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("wrong password", "authentication failed: check the password in journal_password_file"),
        ("no password", "asks for a password and none was given: set journal_password_file"),
        ("no database", "create the role and database first"),
        ("nothing listens", "nothing listens there: is PostgreSQL running"),
    ],
)
def test_a_failed_connection_says_what_to_do(
    pg: PgCluster,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    message: str,
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))  # no ~/.pgpass either
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    url, password = pg.url(database), pg.password_file
    if how == "wrong password":
        password = wrong
    elif how == "no password":
        password = None  # type: ignore[assignment]
    elif how == "no database":
        url = pg.url("no_such_journal")
    else:
        url = url.replace(f":{pg.port}/", f":{_closed_port()}/")
    with pytest.raises(JournalError, match=message) as caught:
        open_store(url, password_file=password)
    assert "not-the-password" not in str(caught.value) and pg.password not in str(caught.value)


def _closed_port() -> int:
    from tests.support import free_port

    return free_port()


def test_a_role_that_does_not_own_the_database_is_told_so(pg: PgCluster) -> None:
    name = pg.create_database(owner="admin")
    try:
        with pytest.raises(JournalError, match="lacks a privilege: make it the database's owner"):
            open_(pg, name)
    finally:
        pg.drop_database(name)


def test_a_read_only_server_is_named_as_such(pg: PgCluster, database: str) -> None:
    pg.psql(f"ALTER DATABASE {database} SET default_transaction_read_only = on")
    with pytest.raises(JournalError, match=r"read-only \(a standby\?\)"):
        open_(pg, database)


def test_a_password_in_the_url_is_refused_before_connecting(pg: PgCluster, database: str) -> None:
    url = pg.url(database).replace(f"{ROLE}@", f"{ROLE}:{pg.password}@")
    with pytest.raises(ConfigError, match="journal_password_file") as caught:
        open_store(url)
    assert pg.password not in str(caught.value)
    with pytest.raises(ConfigError, match="only a postgresql:// journal takes a password"):
        open_store(Path("journal.db"), password_file=pg.password_file)


def test_every_session_commits_durably_whatever_the_role_says(pg: PgCluster, database: str) -> None:
    pg.psql(f"ALTER ROLE {ROLE} IN DATABASE {database} SET synchronous_commit = off")
    store = open_(pg, database)
    try:
        assert store.db.query("SHOW synchronous_commit") == [("on",)]
    finally:
        store.close()


def test_question_marks_and_percent_signs_in_quotes_are_text(pg: PgCluster, database: str) -> None:
    store = open_(pg, database)
    try:
        rows = store.db.query("SELECT '100% up?', ?, 'it''s ?', \"value\" FROM meta WHERE key = ?",
                              (7, "journal_id"))  # fmt: skip
        assert rows == [("100% up?", 7, "it's ?", store.journal_id())]
    finally:
        store.close()


# -- a server that goes away -------------------------------------------------------------------
def test_a_restart_costs_the_caller_nothing(pg: PgCluster, database: str) -> None:
    store = open_(pg, database)
    try:
        store.record([IncidentOpened(incident=incident(1, T0))])
        pg.restart()
        store.heartbeat(T0)  # the dropped connection is noticed at BEGIN and replaced
        pg.restart()
        assert [i.id for i in store.incidents()] == [1]  # and in a read
    finally:
        store.close()


def test_while_the_server_is_down_calls_fail_and_then_work_again(
    pg: PgCluster, database: str
) -> None:
    store = open_(pg, database)
    try:
        pg.stop()
        try:
            with pytest.raises(JournalError, match="cannot connect to the journal"):
                store.heartbeat(T0)
            with pytest.raises(JournalError, match="nothing listens there"):
                store.incidents()
        finally:
            pg.start_again()
        store.record([IncidentOpened(incident=incident(1, T0))])  # no reopening
        assert [i.id for i in store.incidents()] == [1]
    finally:
        store.close()


def test_a_transaction_cut_off_midway_writes_nothing(pg: PgCluster, database: str) -> None:
    store = open_(pg, database)
    try:
        with pytest.raises(JournalError, match=r"connection lost.*nothing of this call"):  # noqa: SIM117
            with store.db.transaction() as tx:
                tx.execute('INSERT INTO gaps (start, "end") VALUES (?, ?)', (1, 2))
                pg.psql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{database}' AND usename = '{ROLE}'"
                )
                tx.execute('INSERT INTO gaps (start, "end") VALUES (?, ?)', (3, 4))
        assert store.gaps() == []  # and the store works again
    finally:
        store.close()


# -- fencing: a claim and a takeover are ordered ---------------------------------------------------
def test_a_takeover_waits_for_a_claim_in_progress_and_then_finds_it(
    pg: PgCluster, database: str
) -> None:
    """Were they not ordered, the new leader could look for orphans before an old claim
    commits, and that notice would sit in flight under a dead epoch, never sent."""
    a, b = open_(pg, database), open_(pg, database)
    got: dict[str, Lease | None] = {}
    try:
        a.outbox.put(notice("<m1@x>"), T0)
        lease = take(a, "a", 3)
        taker = threading.Thread(target=lambda: got.update(b=b.lease.acquire_or_renew("b", 60)))
        with a.db.transaction() as tx:  # a's claim (as Outbox.claim_due makes it), uncommitted
            tx.execute(
                "UPDATE outbox SET state = 'in_flight', claim_epoch = ? WHERE message_id = ?",
                (lease.epoch, "<m1@x>"),
            )
            wait_until("a's lease expires", lambda: expired(b))
            taker.start()
            wait_until("b waits or wins", lambda: "b" in got or waits_for_a_lock(pg, database))
            assert "b" not in got, "b took the lease while a's claim was in progress"
        taker.join(60)
        new = got["b"]
        assert new is not None and new.epoch == lease.epoch + 1
        [orphan] = b.outbox.claim_orphans(new.epoch)
        assert orphan.notice.message_id == "<m1@x>" and orphan.epoch == new.epoch
    finally:
        a.close()
        b.close()


def waits_for_a_lock(pg: PgCluster, database: str) -> bool:
    return (
        pg.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND datname = '{database}'"
        )
        == "1"
    )


# -- the database's clock --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def skewed() -> Iterator[PgCluster]:
    """A cluster whose clock runs an hour behind this process's (libfaketime)."""
    cluster = PgCluster.start(faketime="-1h")
    try:
        yield cluster
    finally:
        cluster.remove()


def test_the_database_clock_not_the_nodes_decides_expiry(skewed: PgCluster) -> None:
    name = skewed.create_database()
    a, b = open_(skewed, name), open_(skewed, name)
    try:
        lease = a.lease.acquire_or_renew("a", 600)
        assert lease is not None
        behind = datetime.now(UTC) - lease.now
        assert timedelta(minutes=55) < behind < timedelta(minutes=65), "faketime not in effect"
        assert lease.expires_at < datetime.now(UTC)  # "expired" by this host's clock...
        assert b.lease.acquire_or_renew("b", 600) is None  # ...but not by the database's
        lapse(a, "a")
        taken = b.lease.acquire_or_renew("b", 600)
        assert taken is not None and taken.epoch == lease.epoch + 1
    finally:
        a.close()
        b.close()
