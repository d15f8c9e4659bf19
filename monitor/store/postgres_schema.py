"""The PostgreSQL journal's schema and migrations, versioned in the table ``schema_migrations``.

The same tables and meaning as the SQLite journal (schema.py, all its migrations), in
PostgreSQL's types: times are BIGINT microseconds since the Unix epoch, UTC (times.py), message
bodies BYTEA, ids identity columns, except ``incidents.id``, which the tracker assigns.
Booleans stay 0/1 integers, so every query in sql.py and outbox.py is the same on both.

``MIGRATIONS[n]`` takes a database from version n to n + 1. postgres.py applies the missing
ones at open, in one transaction under an advisory lock (two nodes starting together migrate
once), and refuses a database newer than the code. A migration is a script of several
statements, sent as one.
"""

from __future__ import annotations

MIGRATION_LOCK = 0x736C_6177_6D69_67  # "slawmig": pg_advisory_xact_lock key for migrations

VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the journal as SQLite's version 2 has it
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value)
        VALUES ('journal_id', left(replace(gen_random_uuid()::text, '-', ''), 12));
    CREATE TABLE daemon_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL,
        kind TEXT NOT NULL, detail TEXT NOT NULL
    );
    CREATE TABLE path_changes (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        router TEXT NOT NULL, demarc TEXT NOT NULL, state TEXT NOT NULL,
        since BIGINT NOT NULL, at BIGINT NOT NULL
    );
    CREATE INDEX path_changes_circuit_at ON path_changes (circuit, at);
    CREATE TABLE control_changes (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, target TEXT NOT NULL,
        state TEXT NOT NULL, since BIGINT NOT NULL, at BIGINT NOT NULL
    );
    CREATE TABLE incidents (
        id BIGINT PRIMARY KEY, circuit TEXT NOT NULL, start BIGINT NOT NULL,
        detected BIGINT NOT NULL, "end" BIGINT, notified BIGINT,
        excluded_reason TEXT, excluded_at BIGINT, closed_reason TEXT
    );
    CREATE INDEX incidents_circuit_start ON incidents (circuit, start);
    CREATE TABLE blind_intervals (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, start BIGINT NOT NULL, "end" BIGINT
    );
    CREATE TABLE gaps (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, start BIGINT NOT NULL,
        "end" BIGINT NOT NULL
    );
    CREATE TABLE maintenance (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        start BIGINT NOT NULL, "end" BIGINT NOT NULL, note TEXT NOT NULL, source TEXT NOT NULL,
        created_at BIGINT NOT NULL, removed_at BIGINT, announced_at BIGINT,
        recorded_by TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE snmp_evidence (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        router TEXT NOT NULL, demarc TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL,
        value BIGINT, text TEXT NOT NULL
    );
    CREATE INDEX snmp_evidence_circuit_at ON snmp_evidence (circuit, at);
    CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id TEXT NOT NULL UNIQUE,
        incident_id BIGINT, circuit TEXT NOT NULL, kind TEXT NOT NULL, recipients TEXT NOT NULL,
        created_at BIGINT NOT NULL, due_at BIGINT NOT NULL, state TEXT NOT NULL,
        body BYTEA NOT NULL, attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_state_due ON outbox (state, due_at);
    CREATE TABLE deliveries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        outbox_id BIGINT NOT NULL REFERENCES outbox (id), recipient TEXT NOT NULL, relay TEXT,
        accepted INTEGER NOT NULL, at BIGINT, code INTEGER, reply TEXT NOT NULL,
        permanent INTEGER NOT NULL
    );
    CREATE INDEX deliveries_outbox ON deliveries (outbox_id);
    CREATE TABLE snapshots (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL,
        month TEXT NOT NULL, circuit TEXT NOT NULL, payload TEXT NOT NULL
    );
    CREATE TABLE first_results (circuit TEXT PRIMARY KEY, at BIGINT NOT NULL);
    """,
    # 1 -> 2: the leader lease and the fencing of notice claims (store/lease.py), as SQLite's
    # version 3. The trigger reads the lease FOR SHARE: a claim and a change of holder are
    # ordered (a claim committed before a takeover is in flight when the new leader looks).
    """
    CREATE FUNCTION journal_now_us() RETURNS BIGINT LANGUAGE sql STABLE
        AS $$ SELECT (extract(epoch FROM now()) * 1000000)::bigint $$;
    CREATE TABLE lease (
        id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT, epoch BIGINT NOT NULL DEFAULT 0,
        expires_at BIGINT NOT NULL DEFAULT 0, acquired_at BIGINT, renewed_at BIGINT
    );
    INSERT INTO lease (id) VALUES (1);
    ALTER TABLE outbox ADD COLUMN claim_epoch BIGINT NOT NULL DEFAULT 0;
    CREATE FUNCTION outbox_fence() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        l lease%ROWTYPE;
    BEGIN
        SELECT * INTO l FROM lease WHERE id = 1 FOR SHARE;
        IF NEW.claim_epoch <> l.epoch OR (l.epoch <> 0 AND (l.holder IS NULL
                OR l.expires_at <= journal_now_us())) THEN
            RAISE EXCEPTION USING ERRCODE = 'SWF01', MESSAGE = format(
                'fenced: notice %s claimed under lease epoch %s, but the lease is at epoch %s '
                '(holder %s, %s)', NEW.message_id, NEW.claim_epoch, l.epoch,
                coalesce(l.holder, 'none'),
                CASE WHEN l.expires_at <= journal_now_us() THEN 'expired' ELSE 'live' END);
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER outbox_fence BEFORE UPDATE OF claim_epoch ON outbox
        FOR EACH ROW EXECUTE FUNCTION outbox_fence();
    """,
    # 2 -> 3: two NOC hosts, as SQLite's version 4
    """
    ALTER TABLE path_changes ADD COLUMN node TEXT NOT NULL DEFAULT '';
    CREATE INDEX path_changes_node_id ON path_changes (node, id);
    CREATE TABLE nodes (
        name TEXT PRIMARY KEY, instance TEXT NOT NULL, fresh_until BIGINT NOT NULL,
        seen_at BIGINT NOT NULL
    );
    ALTER TABLE incidents ADD COLUMN single_vantage INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE disagreements (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        at BIGINT NOT NULL, views TEXT NOT NULL
    );
    """,
    # 3 -> 4: the hash chain, probe evidence and time-stamp tokens, as SQLite's version 5
    """
    CREATE TABLE chain (
        seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, body TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX chain_kind_ref ON chain (kind, ref);
    CREATE TABLE chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL DEFAULT 0,
        hash TEXT NOT NULL
            DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
    );
    INSERT INTO chain_head (id) VALUES (1);
    CREATE TABLE probe_evidence (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        incident_id BIGINT NOT NULL, reason TEXT NOT NULL, start BIGINT NOT NULL,
        "end" BIGINT NOT NULL, at BIGINT NOT NULL, results INTEGER NOT NULL,
        readings INTEGER NOT NULL, data BYTEA NOT NULL
    );
    CREATE INDEX probe_evidence_incident ON probe_evidence (incident_id);
    CREATE TABLE timestamps (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seq BIGINT NOT NULL,
        hash TEXT NOT NULL, at BIGINT NOT NULL, tsa TEXT NOT NULL, token BYTEA NOT NULL
    );
    """,
    # 4 -> 5: the contact group of each stored notice, as SQLite's version 6
    """
    ALTER TABLE outbox ADD COLUMN grp TEXT;
    CREATE INDEX outbox_incident ON outbox (incident_id, kind, grp, recipients);
    """,
    # 5 -> 6: outages waiting on the control targets, as SQLite's version 7
    """
    CREATE TABLE waiting_outages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, circuit TEXT NOT NULL,
        start BIGINT NOT NULL, detected BIGINT NOT NULL, single_vantage INTEGER NOT NULL,
        doubt TEXT NOT NULL, "end" BIGINT, seen INTEGER, UNIQUE (circuit, start, detected)
    );
    CREATE INDEX waiting_outages_undecided ON waiting_outages (id) WHERE seen IS NULL;
    """,
    # 6 -> 7: exclusions withdrawn, as SQLite's version 8
    """
    CREATE TABLE exclusion_withdrawals (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, incident_id BIGINT NOT NULL,
        circuit TEXT NOT NULL, excluded_reason TEXT NOT NULL, excluded_at BIGINT,
        reason TEXT NOT NULL, at BIGINT NOT NULL
    );
    CREATE INDEX exclusion_withdrawals_incident ON exclusion_withdrawals (incident_id);
    """,
)

VERSION = len(MIGRATIONS)

FENCED = "SWF01"
"""The SQLSTATE the fencing trigger raises (class SW: slawatch's own)."""
