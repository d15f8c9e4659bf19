"""The SQLite journal's schema and migrations, versioned with ``PRAGMA user_version``.

Times are integer microseconds since the Unix epoch, UTC (times.py). ``MIGRATIONS[n]`` takes a
journal from version n to n + 1; a journal newer than the code is refused rather than guessed
at. ``journal_now_us()`` is the database's clock in microseconds: sqlite.py defines it on each
connection (PostgreSQL's schema, postgres_schema.py, defines its own over ``now()``).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema
    """
    CREATE TABLE daemon_events (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
    );
    CREATE TABLE path_changes (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, router TEXT NOT NULL,
        demarc TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL, at INTEGER NOT NULL
    );
    CREATE INDEX path_changes_circuit_at ON path_changes (circuit, at);
    CREATE TABLE control_changes (
        id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL,
        since INTEGER NOT NULL, at INTEGER NOT NULL
    );
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, start INTEGER NOT NULL,
        detected INTEGER NOT NULL, "end" INTEGER, notified INTEGER,
        excluded_reason TEXT, excluded_at INTEGER
    );
    CREATE INDEX incidents_circuit_start ON incidents (circuit, start);
    CREATE TABLE blind_intervals (
        id INTEGER PRIMARY KEY, start INTEGER NOT NULL, "end" INTEGER
    );
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY, start INTEGER NOT NULL, "end" INTEGER NOT NULL
    );
    CREATE TABLE maintenance (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, start INTEGER NOT NULL,
        "end" INTEGER NOT NULL, note TEXT NOT NULL, source TEXT NOT NULL,
        created_at INTEGER NOT NULL, removed_at INTEGER
    );
    CREATE TABLE snmp_evidence (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, router TEXT NOT NULL,
        demarc TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, value INTEGER,
        text TEXT NOT NULL
    );
    CREATE INDEX snmp_evidence_circuit_at ON snmp_evidence (circuit, at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, incident_id INTEGER,
        circuit TEXT NOT NULL, kind TEXT NOT NULL, recipients TEXT NOT NULL,
        created_at INTEGER NOT NULL, due_at INTEGER NOT NULL, state TEXT NOT NULL,
        body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_state_due ON outbox (state, due_at);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY, outbox_id INTEGER NOT NULL REFERENCES outbox (id),
        recipient TEXT NOT NULL, relay TEXT, accepted INTEGER NOT NULL, at INTEGER,
        code INTEGER, reply TEXT NOT NULL, permanent INTEGER NOT NULL
    );
    CREATE INDEX deliveries_outbox ON deliveries (outbox_id);
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, month TEXT NOT NULL,
        circuit TEXT NOT NULL, payload TEXT NOT NULL
    );
    """,
    # 1 -> 2: the journal's own id (unique Message-IDs across journals), each circuit's first
    # probe result (§6.8), who recorded a maintenance window and when it was announced
    # (§1), why an incident was closed other than by recovery (removed from monitoring)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('journal_id', lower(hex(randomblob(6))));
    CREATE TABLE first_results (circuit TEXT PRIMARY KEY, at INTEGER NOT NULL);
    INSERT INTO first_results (circuit, at)
        SELECT circuit, min(since) FROM path_changes GROUP BY circuit;
    ALTER TABLE maintenance ADD COLUMN announced_at INTEGER;
    ALTER TABLE maintenance ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE incidents ADD COLUMN closed_reason TEXT;
    """,
    # 2 -> 3: the leader lease and the fencing of notice claims (store/lease.py). A single node
    # never takes the lease: the epoch stays 0 and its claims (epoch 0) always pass.
    """
    CREATE TABLE lease (
        id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT, epoch INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL DEFAULT 0, acquired_at INTEGER, renewed_at INTEGER
    );
    INSERT INTO lease (id) VALUES (1);
    ALTER TABLE outbox ADD COLUMN claim_epoch INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER outbox_fence BEFORE UPDATE OF claim_epoch ON outbox
    WHEN NOT EXISTS (
        SELECT 1 FROM lease WHERE epoch = NEW.claim_epoch
        AND (epoch = 0 OR (holder IS NOT NULL AND expires_at > journal_now_us()))
    )
    BEGIN
        SELECT RAISE(ABORT, 'fenced: the claim''s lease epoch is not the live lease''s epoch');
    END;
    """,
    # 3 -> 4: two NOC hosts (issue 13): whose path states these are, which nodes are alive
    # (their results fresh until, on the journal's clock), incidents one host decided alone
    """
    ALTER TABLE path_changes ADD COLUMN node TEXT NOT NULL DEFAULT '';
    CREATE INDEX path_changes_node_id ON path_changes (node, id);
    CREATE TABLE nodes (
        name TEXT PRIMARY KEY, instance TEXT NOT NULL, fresh_until INTEGER NOT NULL,
        seen_at INTEGER NOT NULL
    );
    ALTER TABLE incidents ADD COLUMN single_vantage INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE disagreements (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, at INTEGER NOT NULL,
        views TEXT NOT NULL
    );
    """,
    # 4 -> 5: the hash chain over every fact (store/chain.py, core/chain.py): one record per
    # chained write, the head kept beside it; probe evidence around incidents (compressed raw
    # results and SNMP readings); RFC 3161 time-stamp tokens of the head.
    """
    CREATE TABLE chain (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, body TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX chain_kind_ref ON chain (kind, ref);
    CREATE TABLE chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL DEFAULT 0,
        hash TEXT NOT NULL
            DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
    );
    INSERT INTO chain_head (id) VALUES (1);
    CREATE TABLE probe_evidence (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, incident_id INTEGER NOT NULL,
        reason TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        at INTEGER NOT NULL, results INTEGER NOT NULL, readings INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX probe_evidence_incident ON probe_evidence (incident_id);
    CREATE TABLE timestamps (
        id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL,
        tsa TEXT NOT NULL, token BLOB NOT NULL
    );
    """,
    # 5 -> 6: the contact group of each stored notice, so a start can tell which of a closed
    # incident's notices were stored and owe the rest (``Ledger.resume_closed``); NULL for
    # notices stored before. The index covers that question (no row, no message body read).
    """
    ALTER TABLE outbox ADD COLUMN grp TEXT;
    CREATE INDEX outbox_incident ON outbox (incident_id, kind, grp, recipients);
    """,
    # 6 -> 7: outages waiting on the control targets (core/doubt.py), a row each, as it stands
    # (begun; ``end``: a path back; ``seen``: decided, 1 opened, 0 not), so a start resumes the
    # undecided ones; ``doubt`` is JSON: each target in doubt -> the start of its failing run
    """
    CREATE TABLE waiting_outages (
        id INTEGER PRIMARY KEY, circuit TEXT NOT NULL, start INTEGER NOT NULL,
        detected INTEGER NOT NULL, single_vantage INTEGER NOT NULL, doubt TEXT NOT NULL,
        "end" INTEGER, seen INTEGER, UNIQUE (circuit, start, detected)
    );
    CREATE INDEX waiting_outages_undecided ON waiting_outages (id) WHERE seen IS NULL;
    """,
    # 7 -> 8: exclusions withdrawn: the exclusion as it stood and the withdrawal, one row
    # each (the incident's own columns then say it is not excluded; chained, both)
    """
    CREATE TABLE exclusion_withdrawals (
        id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL, circuit TEXT NOT NULL,
        excluded_reason TEXT NOT NULL, excluded_at INTEGER, reason TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX exclusion_withdrawals_incident ON exclusion_withdrawals (incident_id);
    """,
)

VERSION = len(MIGRATIONS)
