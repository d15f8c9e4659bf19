"""The journal: every fact the daemon acts on, written and fsynced first.

``Journal`` is synchronous and owns one sqlite3 connection; ``AsyncJournal`` runs every call
on one dedicated worker thread, so writes are serialised and never block the event loop.
``synchronous=FULL`` in WAL mode makes each committed transaction durable (fsynced) before the
call returns: the daemon acts on an event only after ``record`` has returned.

Failures are translated at this boundary into :class:`JournalError` with a message that says
what to do (corrupt file, read-only file or directory, full disk). An existing journal is
never deleted or rewritten behind the operator's back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from monitor.core.bounds import clamp_window
from monitor.core.errors import InputError, JournalError
from monitor.core.model import Interval, MaintenanceWindow, PathState
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    ControlChanged,
    Event,
    Incident,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    PathChanged,
)
from monitor.store.schema import MIGRATIONS, VERSION, at_db, from_db, to_db

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoredState:
    """What a restart needs: latest path/control states, incidents, blind intervals."""

    paths: dict[tuple[str, str, str], tuple[PathState, datetime]] = field(default_factory=dict)
    controls: dict[str, tuple[PathState, datetime]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    blind: tuple[Interval, ...] = ()
    last_seen: datetime | None = None
    first_results: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One line of an incident's timeline; ``at`` aware UTC."""

    at: datetime
    kind: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredWindow:
    """A window announced through the API or CLI: ``recorded_at`` (aware UTC) and
    ``recorded_by`` say when and by whom it was entered."""

    id: int
    circuit: str
    window: MaintenanceWindow
    source: str
    recorded_at: datetime
    recorded_by: str = ""


def _explain(path: Path, exc: sqlite3.Error) -> JournalError:
    text = str(exc)
    low = text.lower()
    if "full" in low:
        return JournalError(
            f"journal write failed: disk full ({path}): free space; "
            "nothing already recorded is lost"
        )
    if "readonly" in low or "read-only" in low:
        return JournalError(
            f"{path}: read-only: the daemon needs write access to the file and "
            "its directory (for the -wal and -shm files)"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return JournalError(
            f"{path} is not a usable SQLite journal ({text}): move it aside "
            "(keep it for the audit) and restart; a new journal is started"
        )
    if "unable to open" in low:
        return JournalError(
            f"{path}: cannot open ({text}): check the directory exists and "
            "is writable by the daemon's user"
        )
    return JournalError(f"{path}: journal error: {text}")


class Journal:
    """Synchronous journal over one SQLite file; see the module docstring."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._db = conn
        self.path = path

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (creating if missing) and migrate the journal at ``path``."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(
                f"{p.parent}: cannot create the journal directory: {exc.strerror}"
            ) from None
        try:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _explain(p, exc) from exc
        journal = cls(conn, p)
        try:
            journal._setup()
        except sqlite3.Error as exc:
            conn.close()
            raise _explain(p, exc) from exc
        except JournalError:
            conn.close()
            raise
        return journal

    def _setup(self) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise JournalError(
                f"{self.path} is not a usable SQLite journal (quick_check: "
                f"{check}): move it aside and restart; a new one is started"
            )
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise JournalError(
                f"{self.path}: journal schema version {version} is newer than "
                f"this slawatch understands ({VERSION}): upgrade slawatch"
            )
        for n in range(version, VERSION):
            with self._tx() as tx:
                for statement in MIGRATIONS[n].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {n + 1}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise _explain(self.path, exc) from exc

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from exc

    # -- the core's events -----------------------------------------------------------------
    def record(self, events: Iterable[Event]) -> None:
        """Write a batch of tracker events in one durable transaction."""
        with self._tx() as tx:
            for e in events:
                _WRITERS[type(e)](tx, e)

    # -- daemon life ---------------------------------------------------------------------------
    def daemon_started(self, at: datetime) -> Interval | None:
        """Record a start; return (and record) the unmonitored gap since the daemon was last
        seen alive (its last heartbeat, start or stop), if any."""
        last = self._last_seen()
        gap = None
        with self._tx() as tx:
            if last is not None and at > last:
                gap = Interval(start=last, end=at)
                tx.execute(
                    'INSERT INTO gaps (start, "end") VALUES (?, ?)', (to_db(last), to_db(at))
                )
            tx.execute(
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, 'start', '')", (to_db(at),)
            )
        return gap

    def daemon_stopped(self, at: datetime) -> None:
        self._daemon_event(at, "stop")

    def heartbeat(self, at: datetime) -> None:
        """Mark the daemon alive at ``at``; keeps one heartbeat row (the latest)."""
        with self._tx() as tx:
            tx.execute("DELETE FROM daemon_events WHERE kind = 'heartbeat'")
            tx.execute(
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, 'heartbeat', '')",
                (to_db(at),),
            )

    def _daemon_event(self, at: datetime, kind: str, detail: str = "") -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, ?, ?)",
                (to_db(at), kind, detail),
            )

    def first_start(self) -> datetime | None:
        """When the daemon first ran on this journal (monitoring began), or None."""
        return from_db(self._query("SELECT min(at) FROM daemon_events WHERE kind = 'start'")[0][0])

    def _last_seen(self) -> datetime | None:
        return from_db(self._query("SELECT max(at) FROM daemon_events")[0][0])

    # -- reading back ----------------------------------------------------------------------
    def restore(self) -> RestoredState:
        """The latest state of everything the tracker needs after a restart."""
        paths = {
            (c, r, d): (PathState(s), at_db(since))
            for c, r, d, s, since in self._query(
                "SELECT circuit, router, demarc, state, since FROM path_changes WHERE id IN "
                "(SELECT max(id) FROM path_changes GROUP BY circuit, router, demarc)"
            )
        }
        controls = {
            t: (PathState(s), at_db(since))
            for t, s, since in self._query(
                "SELECT target, state, since FROM control_changes WHERE id IN "
                "(SELECT max(id) FROM control_changes GROUP BY target)"
            )
        }
        incidents = [*self.incidents(open_only=True), *self._recent_closed(32)]
        return RestoredState(
            paths=paths,
            controls=controls,
            incidents=tuple(incidents),
            blind=tuple(self.blind_intervals()),
            last_seen=self._last_seen(),
            first_results=self.first_results(),
        )

    def first_results(self) -> dict[str, datetime]:
        """Each circuit's first probe result (§6.8: its service time starts there)."""
        return {c: at_db(at) for c, at in self._query("SELECT circuit, at FROM first_results")}

    def journal_id(self) -> str:
        """This journal's random id, made when it was created: part of every Message-ID, so
        notices of two journals (a new one, another host) never share one."""
        return str(self._query("SELECT value FROM meta WHERE key = 'journal_id'")[0][0])

    def _recent_closed(self, per_circuit: int) -> list[Incident]:
        rows = self._query(
            f"SELECT {_INCIDENT_COLS} FROM (SELECT *, row_number() OVER (PARTITION BY circuit "
            'ORDER BY id DESC) AS n FROM incidents WHERE "end" IS NOT NULL) '
            "WHERE n <= ? ORDER BY id",
            (per_circuit,),
        )
        return [_incident(r) for r in rows]

    def incidents(
        self,
        circuit: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        open_only: bool = False,
    ) -> list[Incident]:
        """Incidents overlapping ``[start, end)`` (either bound optional), oldest first."""
        sql = f"SELECT {_INCIDENT_COLS} FROM incidents WHERE 1=1"
        args: list[Any] = []
        if circuit is not None:
            sql += " AND circuit = ?"
            args.append(circuit)
        if end is not None:
            sql += " AND start < ?"
            args.append(to_db(end))
        if start is not None:
            sql += ' AND ("end" IS NULL OR "end" >= ?)'
            args.append(to_db(start))
        if open_only:
            sql += ' AND "end" IS NULL'
        return [_incident(r) for r in self._query(sql + " ORDER BY start, id", args)]

    def incident(self, incident_id: int) -> Incident | None:
        rows = self._query(f"SELECT {_INCIDENT_COLS} FROM incidents WHERE id = ?", (incident_id,))
        return _incident(rows[0]) if rows else None

    def gaps(self, start: datetime | None = None, end: datetime | None = None) -> list[Interval]:
        rows = self._query(
            'SELECT start, "end" FROM gaps WHERE "end" >= ? AND start <= ? ORDER BY start',
            (to_db(start) or 0, to_db(end) or 2**62),
        )
        return [Interval(start=at_db(s), end=at_db(e)) for s, e in rows]

    def blind_intervals(self) -> list[Interval]:
        rows = self._query('SELECT start, "end" FROM blind_intervals ORDER BY start')
        return [Interval(start=at_db(s), end=from_db(e)) for s, e in rows]

    # -- operator actions ---------------------------------------------------------------------
    def exclude(self, incident_id: int, reason: str, at: datetime) -> Incident:
        """Mark an incident excluded (SLA.md §1); ``reason`` is required."""
        if not reason.strip():
            raise InputError("an exclusion needs a reason (customer-caused, not attributable...)")
        with self._tx() as tx:
            n = tx.execute(
                "UPDATE incidents SET excluded_reason = ?, excluded_at = ? WHERE id = ?",
                (reason.strip(), to_db(at), incident_id),
            ).rowcount
        if not n:
            raise InputError(f"no incident {incident_id}")
        found = self.incident(incident_id)
        assert found is not None
        return found

    def add_maintenance(
        self, circuit: str, window: MaintenanceWindow, source: str, at: datetime, by: str = ""
    ) -> int:
        """Record a window announced through ``source`` (api, cli) at ``at`` by ``by``."""
        with self._tx() as tx:
            cur = tx.execute(
                'INSERT INTO maintenance (circuit, start, "end", note, source, created_at, '
                "announced_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    circuit,
                    to_db(window.start),
                    to_db(window.end),
                    window.note,
                    source,
                    to_db(at),
                    to_db(window.announced_at),
                    by,
                ),
            )
            return int(cur.lastrowid or 0)

    def remove_maintenance(self, window_id: int, at: datetime) -> None:
        with self._tx() as tx:
            n = tx.execute(
                "UPDATE maintenance SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (to_db(at), window_id),
            ).rowcount
        if not n:
            raise InputError(f"no maintenance window {window_id}")

    def maintenance(self, circuit: str | None = None) -> list[StoredWindow]:
        rows = self._query(
            'SELECT id, circuit, start, "end", note, source, announced_at, created_at, '
            "recorded_by FROM maintenance WHERE removed_at IS NULL AND (? IS NULL OR circuit = ?) "
            "ORDER BY start",
            (circuit, circuit),
        )
        return [
            StoredWindow(
                id=i,
                circuit=c,
                source=src,
                # an older version stored any dates: read them within the sane bounds
                window=clamp_window(
                    MaintenanceWindow(
                        start=at_db(s), end=at_db(e), note=n, announced_at=from_db(told)
                    )
                ),
                recorded_at=at_db(created),
                recorded_by=by,
            )
            for i, c, s, e, n, src, told, created, by in rows
        ]

    def record_snmp(
        self,
        circuit: str,
        router: str,
        demarc: str,
        at: datetime,
        kind: str,
        value: int | None,
        text: str,
    ) -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO snmp_evidence (circuit, router, demarc, at, kind, value, "
                "text) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (circuit, router, demarc, to_db(at), kind, value, text),
            )

    def snapshot(self, at: datetime, month: str, circuit: str, payload: dict[str, Any]) -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO snapshots (at, month, circuit, payload) VALUES (?, ?, ?, ?)",
                (to_db(at), month, circuit, json.dumps(payload)),
            )

    def prune_snapshots(self, before: datetime) -> int:
        """Delete hourly snapshots older than ``before``; returns how many."""
        with self._tx() as tx:
            return int(tx.execute("DELETE FROM snapshots WHERE at < ?", (to_db(before),)).rowcount)

    def timeline(self, incident_id: int, now: datetime) -> list[TimelineEntry]:
        """Path changes, SNMP evidence, gaps and notices around one incident, in time order."""
        from monitor.store.outbox import notice_timeline

        incident = self.incident(incident_id)
        if incident is None:
            raise InputError(f"no incident {incident_id}")
        lo = to_db(incident.start) - 3_600_000_000  # type: ignore[operator]
        hi = to_db(incident.end or now)
        out = [
            TimelineEntry(
                at=at_db(a), kind="path", text=f"{r}/{d} {s} since {at_db(since).isoformat()}"
            )
            for r, d, s, since, a in self._query(
                "SELECT router, demarc, state, since, at FROM path_changes WHERE circuit = ? "
                "AND at BETWEEN ? AND ?",
                (incident.circuit, lo, hi),
            )
        ]
        out += [
            TimelineEntry(at=at_db(a), kind="snmp", text=f"{r}/{d} {k} {t}")
            for r, d, k, t, a in self._query(
                "SELECT router, demarc, kind, text, at FROM snmp_evidence WHERE circuit = ? "
                "AND at BETWEEN ? AND ?",
                (incident.circuit, lo, hi),
            )
        ]
        out += [
            TimelineEntry(at=g.start, kind="gap", text=f"unmonitored until {g.end}")
            for g in self.gaps(from_db(lo), from_db(hi))
        ]
        out += notice_timeline(self._query, incident_id)
        return sorted(out, key=lambda e: e.at)

    # the outbox lives in outbox.py; bound here so one connection serves both
    def run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        """Run ``fn(connection)`` inside one transaction (for the outbox module)."""
        if not write:
            try:
                return fn(self._db)
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc
        with self._tx() as tx:
            return fn(tx)


_INCIDENT_COLS = 'id, circuit, start, detected, "end", notified, excluded_reason'


def _incident(row: Any) -> Incident:
    i, circuit, start, detected, end, notified, excluded = row
    return Incident(
        id=i,
        circuit=circuit,
        start=at_db(start),
        detected=at_db(detected),
        end=from_db(end),
        notified=from_db(notified),
        excluded=excluded,
    )


def _path_changed(tx: sqlite3.Connection, e: PathChanged) -> None:
    tx.execute(
        "INSERT INTO path_changes (circuit, router, demarc, state, since, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            e.path.circuit,
            e.path.router.value,
            e.path.demarc.value,
            e.change.state.value,
            to_db(e.change.since),
            to_db(e.change.at),
        ),
    )


def _control_changed(tx: sqlite3.Connection, e: ControlChanged) -> None:
    tx.execute(
        "INSERT INTO control_changes (target, state, since, at) VALUES (?, ?, ?, ?)",
        (e.target, e.change.state.value, to_db(e.change.since), to_db(e.change.at)),
    )


def _incident_upsert(
    tx: sqlite3.Connection, e: IncidentOpened | IncidentClosed | IncidentNotified
) -> None:
    i = e.incident
    tx.execute(
        'INSERT INTO incidents (id, circuit, start, detected, "end", notified) '
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        '"end" = excluded."end", notified = coalesce(incidents.notified, '
        "excluded.notified)",
        (i.id, i.circuit, to_db(i.start), to_db(i.detected), to_db(i.end), to_db(i.notified)),
    )


def _first_result(tx: sqlite3.Connection, e: MonitoringStarted) -> None:
    tx.execute(
        "INSERT INTO first_results (circuit, at) VALUES (?, ?) ON CONFLICT (circuit) DO NOTHING",
        (e.circuit, to_db(e.at)),
    )


def _blind_started(tx: sqlite3.Connection, e: BlindStarted) -> None:
    tx.execute('INSERT INTO blind_intervals (start, "end") VALUES (?, NULL)', (to_db(e.since),))


def _blind_ended(tx: sqlite3.Connection, e: BlindEnded) -> None:
    tx.execute('UPDATE blind_intervals SET "end" = ? WHERE "end" IS NULL', (to_db(e.interval.end),))


_WRITERS: dict[type, Callable[[sqlite3.Connection, Any], None]] = {
    MonitoringStarted: _first_result,
    PathChanged: _path_changed,
    ControlChanged: _control_changed,
    IncidentOpened: _incident_upsert,
    IncidentClosed: _incident_upsert,
    IncidentNotified: _incident_upsert,
    BlindStarted: _blind_started,
    BlindEnded: _blind_ended,
}
