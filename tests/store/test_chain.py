"""The hash chain on every backend: each fact chained in its own transaction, the head
recomputable by anyone from the documented form, and tampering found and named.

Tampering is done with raw SQL, as someone with write access to the database would.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.chain import ChainHead
from monitor.core.facts import ProbeEvidence, Series, SnmpObserved
from monitor.core.model import MaintenanceWindow
from monitor.store.schema import MIGRATIONS
from monitor.store.sql import SqlStore
from monitor.store.sqlite import open_sqlite
from tests.store.backends import Backend
from tests.store.test_contract import PATHS, T0, delivery, notice, outage, tracker

S = timedelta(seconds=1)


def history(store: SqlStore) -> None:
    """One of every kind of chained write."""
    store.started(T0 - 60 * S)
    t = tracker()
    outage(store, t, T0, 2, True)
    outage(store, t, T0 + 10 * S, 3, False)
    store.record([SnmpObserved(path=PATHS[0], at=T0 + 11 * S, kind="ifOperStatus", value=2,
                               text="down")])  # fmt: skip
    store.record([ProbeEvidence(circuit="c1", incident=1, reason="opened", start=T0,
                                end=T0 + 60 * S, at=T0 + 70 * S,
                                series=(Series.pack("active/primary",
                                                    [(int(T0.timestamp()) * 1_000_000, 1_000)]),),
                                readings=())])  # fmt: skip
    item = store.outbox.put(notice("<m1@x>"), T0 + 13 * S)
    assert item is not None
    store.outbox.finish(item.id, [delivery("a@x.example", True, T0 + 14 * S)], T0 + 44 * S)
    window = store.add_window(
        "c1", MaintenanceWindow(start=T0 + 100 * S, end=T0 + 200 * S, note="swap"), "cli", T0
    )
    assert window.id is not None
    store.remove_window(window.id, T0 + 5 * S)
    store.exclude(1, "customer's power", T0 + 50 * S)
    store.heartbeat(T0 + 60 * S)  # not chained: rewritten every 10 s
    store.stopped(T0 + 61 * S)


def recompute(store: SqlStore) -> str:
    """The head's hash from the records alone, as the README tells a customer to do it."""
    h = bytes(32)
    for r in store.chain_records(1, store.head().seq):
        h = hashlib.sha256(h + r.body.encode()).digest()
    return h.hex()


def tamper(store: SqlStore, sql: str, args: tuple[object, ...] = ()) -> None:
    with store.db.transaction() as tx:
        tx.execute(sql, args)


def record_of(store: SqlStore, kind: str, ref: str) -> int:
    return store.chain_seqs(kind, [ref])[-1]


def test_every_write_is_chained_and_anyone_can_recompute_the_head(store: SqlStore) -> None:
    history(store)
    check = store.verify()
    assert check.ok, check.problem
    head = store.head()
    assert check.head == head and check.records == head.seq
    assert recompute(store) == head.hash
    kinds = {r.kind for r in store.chain_records(1, head.seq)}
    assert kinds == {"daemon_events", "first_results", "path_changes", "incidents",
                     "snmp_evidence", "probe_evidence", "outbox", "deliveries",
                     "maintenance"}  # fmt: skip
    # an incident's every version is a record: opened, closed... and the exclusion
    assert len(store.chain_seqs("incidents", ["1"])) == 2
    first = json.loads(store.chain_records(1, 1)[0].body)
    assert first == {"table": "daemon_events",
                     "row": {"id": 1, "at": int((T0 - 60 * S).timestamp() * 1e6),
                             "kind": "start", "detail": ""}}  # fmt: skip


def test_a_changed_byte_in_a_fact_is_named(store: SqlStore) -> None:
    history(store)
    tamper(store, "UPDATE path_changes SET since = since + 1 WHERE id = 3")
    check = store.verify()
    assert not check.ok
    seq = record_of(store, "path_changes", "3")
    assert check.seq == seq
    assert f"record {seq} (path_changes 3): the row differs from its record" in str(check.problem)


def test_a_changed_byte_in_a_message_body_is_named(store: SqlStore) -> None:
    history(store)
    tamper(store, "UPDATE outbox SET body = ? WHERE id = 1", (b"body \x00\xfe",))
    check = store.verify()
    assert check.seq == record_of(store, "outbox", "1")
    assert "(outbox 1): the row differs" in str(check.problem)


def test_a_changed_byte_in_a_record_breaks_its_hash(store: SqlStore) -> None:
    history(store)
    seq = record_of(store, "path_changes", "2")
    tamper(store, "UPDATE chain SET body = replace(body, '\"down\"', '\"dowm\"') WHERE seq = ?",
           (seq,))  # fmt: skip
    tamper(store, "UPDATE chain SET body = replace(body, '\"up\"', '\"uq\"') WHERE seq = ?", (seq,))
    check = store.verify()
    assert check.seq == seq and "hash does not match" in str(check.problem)
    assert check.head.seq == seq - 1


def test_a_deleted_row_is_named(store: SqlStore) -> None:
    history(store)
    tamper(store, "DELETE FROM snmp_evidence WHERE id = 1")
    check = store.verify()
    seq = record_of(store, "snmp_evidence", "1")
    assert check.seq == seq
    assert f"record {seq} (snmp_evidence 1): the row is missing" in str(check.problem)


def test_a_deleted_record_is_named(store: SqlStore) -> None:
    history(store)
    tamper(store, "DELETE FROM chain WHERE seq = 5")
    check = store.verify()
    assert check.seq == 5 and "record 5 is missing" in str(check.problem)


def test_reordered_rows_are_named(store: SqlStore) -> None:
    history(store)
    # two path changes swap places (their contents; the ids stay): each differs from its record
    cols = "circuit, router, demarc, state, since, at"
    rows = store.db.query(f"SELECT id, {cols} FROM path_changes WHERE id IN (5, 6) ORDER BY id")
    assert rows[0][1:] != rows[1][1:]
    for (target, *_), (_, *values) in zip(rows, reversed(rows), strict=True):
        tamper(store, "UPDATE path_changes SET circuit = ?, router = ?, demarc = ?, state = ?, "
               "since = ?, at = ? WHERE id = ?", (*values, target))  # fmt: skip
    check = store.verify()
    seq = record_of(store, "path_changes", "5")
    assert check.seq == seq and "(path_changes 5): the row differs" in str(check.problem)


def test_reordered_records_are_named(store: SqlStore) -> None:
    history(store)
    tamper(store, "UPDATE chain SET seq = -seq WHERE seq IN (7, 8)")
    tamper(store, "UPDATE chain SET seq = 15 + seq WHERE seq IN (-7, -8)")
    check = store.verify()
    assert check.seq == 7 and "hash does not match" in str(check.problem)


def test_a_row_added_behind_its_back_is_named(store: SqlStore) -> None:
    history(store)
    tamper(store, 'INSERT INTO gaps (start, "end") VALUES (1, 2)')
    check = store.verify()
    assert "gaps" in str(check.problem) and "is in no chain record" in str(check.problem)


def test_a_notice_carries_the_head_before_its_own_record(store: SqlStore) -> None:
    history(store)
    before = store.head()
    seen: list[ChainHead] = []

    def stamp(head: ChainHead) -> bytes:
        seen.append(head)
        return f"head {head.seq} {head.hash}".encode()

    item = store.outbox.put(notice("<m2@x>"), T0 + 90 * S, stamp=stamp)
    assert item is not None and seen == [before]
    assert item.notice.body == f"head {before.seq} {before.hash}".encode()
    [own] = store.chain_records(before.seq + 1, before.seq + 1)
    assert (own.kind, own.ref) == ("outbox", str(item.id))
    body_sha = json.loads(own.body)["row"]["body_sha256"]
    assert body_sha == hashlib.sha256(item.notice.body).hexdigest()
    assert store.verify().ok


def test_the_chain_survives_a_restart(backend: Backend) -> None:
    store = backend.open()
    history(store)
    head = store.head()
    store.close()
    store = backend.open()
    try:
        assert store.head() == head
        store.record([SnmpObserved(path=PATHS[1], at=T0, kind="trap", value=None, text="x")])
        assert store.head().seq == head.seq + 1 and store.verify().ok
    finally:
        store.close()


def test_an_older_journal_is_chained_once_at_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for n in range(3):  # the journal as version 3 left it
        db.executescript(MIGRATIONS[n])
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO path_changes (circuit, router, demarc, state, since, at) "
               "VALUES ('c1', 'active', 'primary', 'up', 5, 6)")  # fmt: skip
    db.execute("INSERT INTO incidents (id, circuit, start, detected) VALUES (1, 'c1', 7, 8)")
    db.close()
    store = open_sqlite(path)
    try:
        assert store.head().seq == 2 and store.verify().ok
        store.close()
        store = open_sqlite(path)
        assert store.head().seq == 2  # not again
    finally:
        store.close()


def test_slawatch_verify_prints_the_head_or_the_broken_record(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = open_sqlite(path)
    history(store)
    head = store.head()
    cmd = [sys.executable, "-m", "monitor", "verify", "--journal", str(path)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"chain intact: {head.seq} records; head {head.text}\n"
    tamper(store, "UPDATE incidents SET start = start - 1 WHERE id = 1")
    store.close()
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stdout == ""
    assert "chain broken: record" in bad.stderr and "(incidents 1)" in bad.stderr
    missing = subprocess.run([*cmd[:-1], str(tmp_path / "nope.db")], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.parametrize("value", [1.5, True, {1: "x"}, b"x"])
def test_the_canonical_form_refuses_what_it_cannot_hold(value: object) -> None:
    from monitor.core.chain import NotCanonical, canonical

    with pytest.raises(NotCanonical):
        canonical({"x": value})


def test_the_canonical_form_is_rfc_8785_for_journal_values() -> None:
    from monitor.core.chain import canonical

    value = {"b": 'é\n"\\\x01', "a": [1, None, -3], "A": 2**53, "y1": -62135596800000000}
    assert (
        canonical(value)
        == '{"A":9007199254740992,"a":[1,null,-3],"b":"é\\n\\"\\\\\\u0001",'
        '"y1":-62135596800000000}'.encode()
    )
