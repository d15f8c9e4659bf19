"""``SqlStore``: the :class:`~monitor.store.base.Store` contract over any :class:`Database`.

Every query of the journal is here, once, in SQL that SQLite and PostgreSQL both run (``?``
placeholders; times as integer microseconds since the epoch, UTC; no ``? IS NULL`` tricks,
whose parameter type PostgreSQL cannot infer: optional filters are added in Python; the
database's own clock, where one is needed, is ``journal_now_us()``, which each backend
defines). The backends differ only in how they connect, migrate and explain their errors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from monitor.core.bounds import clamp_window
from monitor.core.chain import ChainHead
from monitor.core.errors import InputError, NotFoundError
from monitor.core.facts import Fact
from monitor.core.inputs import Resume
from monitor.core.model import (
    Announced,
    Demarc,
    Interval,
    MaintenanceWindow,
    PathKey,
    PathState,
    Router,
    Withdrawal,
)
from monitor.core.tracker import Incident, OutageWaiting, PathChanged
from monitor.store.chain import CHAINED, Chain, adopt
from monitor.store.db import Database, Row
from monitor.store.lease import LeaseTable, holds
from monitor.store.nodes import NodesTable
from monitor.store.outbox import Outbox
from monitor.store.records import ChainRecord, Stamp, StoredEvidence, TimelineEntry
from monitor.store.times import at_db, from_db, to_db
from monitor.store.vantages import node_views
from monitor.store.verify import ChainCheck, records, verify
from monitor.store.writers import LEADER_FACTS, WRITERS, path_changed
from monitor.store.writers import gap as write_gap

ALIVE_S = 15.0
"""A node whose start or heartbeat is younger than this (the daemon beats every 10 s) is taken
for running when another starts: the journal shows no gap while it runs."""
RECENT_PER_CIRCUIT = 32
"""Closed incidents restored per circuit (a late notice can still find its incident)."""

_WRITTEN_BY_DAEMON = (
    ("path_changes", "at"),
    ("control_changes", "at"),
    ("snmp_evidence", "at"),
    ("outbox", "created_at"),
    ("deliveries", "at"),
)
"""Tables only a running daemon writes, with the time of each row (its clock: when it saw a
change or a reading, stored a notice, or had a relay's answer)."""

_RECENT = (
    "(SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY circuit ORDER BY id DESC) AS n "
    'FROM incidents WHERE "end" IS NOT NULL) AS ranked WHERE n <= ?) AS recent'
)
"""The :data:`RECENT_PER_CIRCUIT` latest closed incidents of each circuit, as ``recent``."""

TIMELINE_BEFORE = 3_600_000_000
"""An incident's timeline starts an hour (in microseconds) before its start."""

_INCIDENT = (
    'id, circuit, start, detected, "end", notified, excluded_reason, closed_reason, single_vantage'
)
_WINDOW = (
    'id, circuit, start, "end", note, source, announced_at, created_at, recorded_by '
    "FROM maintenance WHERE removed_at IS NULL"
)


class SqlStore:
    """The journal over ``db``; see the module docstring and ``base.Store``."""

    def __init__(self, db: Database, *, node: str = "") -> None:
        self.db = db
        self.node = node
        """This NOC host's name (``cluster.node``; empty for the only one): its own path
        changes, heartbeats and starts carry it."""
        self.chain = Chain(db)
        self._outbox = Outbox(db, self.chain)
        self._lease = LeaseTable(db)
        self._nodes = NodesTable(db, node)
        adopt(self.chain)  # an older journal's rows, once

    @property
    def name(self) -> str:
        return self.db.name

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    @property
    def lease(self) -> LeaseTable:
        return self._lease

    @property
    def nodes(self) -> NodesTable:
        return self._nodes

    def close(self) -> None:
        self.db.close()

    def batch(self) -> AbstractContextManager[None]:
        return self.chain.batch()

    # -- facts ---------------------------------------------------------------------------------
    def record(self, facts: Sequence[Fact], *, epoch: int | None = None) -> bool:
        with self.chain.transaction() as tx:
            leads = any(type(f) in LEADER_FACTS for f in facts)
            refused = epoch is not None and leads and not holds(tx.tx, epoch)
            for fact in facts:
                if isinstance(fact, PathChanged):
                    path_changed(tx, fact, self.node)
                elif not (refused and type(fact) in LEADER_FACTS):
                    WRITERS[type(fact)](tx, fact)
        return not refused

    # -- the chain and evidence ------------------------------------------------------------
    def head(self) -> ChainHead:
        """The chain's head now (core/chain.py)."""
        return self.chain.head()

    @property
    def known_head(self) -> ChainHead:
        """The head this process last wrote or read: no query (a gauge reads it from any
        thread)."""
        return self.chain.last

    def verify(self) -> ChainCheck:
        """Walk the chain and check every chained row (store/verify.py)."""
        return verify(self.db)

    def chain_records(self, lo: int, hi: int) -> list[ChainRecord]:
        """Records ``lo``..``hi`` of the chain, in order."""
        return [
            ChainRecord(seq=int(s), kind=k, ref=r, body=b, hash=h)
            for s, k, r, b, h in records(self.db, lo, hi)
        ]

    def chain_seqs(self, kind: str, refs: Sequence[str]) -> list[int]:
        """The records of rows ``refs`` of table ``kind`` (every version of each)."""
        if not refs:
            return []
        marks = ", ".join("?" * len(refs))
        rows = self.db.query(
            f"SELECT seq FROM chain WHERE kind = ? AND ref IN ({marks}) ORDER BY seq",
            (kind, *refs),
        )
        return [int(s) for (s,) in rows]

    def evidence(self, incident_id: int) -> list[StoredEvidence]:
        """The probe evidence captured around one incident, oldest first."""
        rows = self.db.query(
            'SELECT id, circuit, incident_id, reason, start, "end", data FROM probe_evidence '
            "WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            StoredEvidence(id=int(i), circuit=c, incident_id=int(n), reason=r, start=at_db(s),
                           end=at_db(e), data=bytes(d))
            for i, c, n, r, s, e, d in rows
        ]  # fmt: skip

    def add_stamp(self, head: ChainHead, at: datetime, tsa: str, token: bytes) -> Stamp:
        """Keep an RFC 3161 token over ``head`` (chained like any fact)."""
        with self.chain.transaction() as tx:
            [(i, *_)] = tx.write(
                "timestamps",
                "INSERT INTO timestamps (seq, hash, at, tsa, token) VALUES (?, ?, ?, ?, ?)",
                (head.seq, head.hash, to_db(at), tsa, token),
            )
        return Stamp(id=int(i), seq=head.seq, hash=head.hash, at=at, tsa=tsa, token=token)

    def stamps(self) -> list[Stamp]:
        """Every time-stamp token kept, oldest first."""
        rows = self.db.query("SELECT id, seq, hash, at, tsa, token FROM timestamps ORDER BY id")
        return [
            Stamp(id=int(i), seq=int(s), hash=h, at=at_db(a), tsa=t, token=bytes(k))
            for i, s, h, a, t, k in rows
        ]

    # -- the daemon's life ---------------------------------------------------------------------
    def started(self, at: datetime) -> Interval | None:
        alive = self.others_fresh() or self._others_started(at)
        last = None if alive else self._last_seen()
        gap = Interval(start=last, end=at) if last is not None and at > last else None
        with self.chain.transaction() as tx:
            if gap is not None:
                write_gap(tx, gap)
            tx.write(
                "daemon_events",
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, 'start', ?)",
                (to_db(at), self.node),
            )
        return gap

    def stopped(self, at: datetime) -> None:
        with self.chain.transaction() as tx:
            tx.write(
                "daemon_events",
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, 'stop', ?)",
                (to_db(at), self.node),
            )

    def heartbeat(self, at: datetime) -> None:
        """Mark this node alive at ``at``; keeps one heartbeat row per node (the latest). A
        gap is time when no node was alive: :meth:`started` looks at every node's."""
        with self.db.transaction() as tx:
            tx.execute(
                "DELETE FROM daemon_events WHERE kind = 'heartbeat' AND detail = ?", (self.node,)
            )
            tx.execute(
                "INSERT INTO daemon_events (at, kind, detail) VALUES (?, 'heartbeat', ?)",
                (to_db(at), self.node),
            )

    def _last_seen(self) -> datetime | None:
        """When some node was last seen alive: its last start, stop or heartbeat, (two NOC
        hosts) its last word that its results were flowing, or the last thing only a running
        daemon writes (a path change, a notice, a relay's answer...: a daemon killed between
        two heartbeats was running until then, and a gap must not cover what it saw)."""
        [(events,)] = self.db.query("SELECT max(at) FROM daemon_events")
        [(nodes,)] = self.db.query("SELECT max(seen_at) FROM nodes")
        seen = [events, nodes]
        for table, column in _WRITTEN_BY_DAEMON:  # the latest rows (by id: no scan of the table;
            seen += [at for (at,) in self.db.query(  # a few: a deferred recipient has no time)
                f"SELECT max(at) FROM (SELECT {column} AS at FROM {table} "
                "ORDER BY id DESC LIMIT 16) AS latest"
            )]  # fmt: skip
        return from_db(max((t for t in seen if t is not None), default=None))

    def others_fresh(self) -> bool:
        """Whether another NOC host's results are flowing now: then nothing went unmonitored
        while this one was down."""
        [(n,)] = self.db.query(
            "SELECT count(*) FROM nodes WHERE name <> ? AND fresh_until > journal_now_us()",
            (self.node,),
        )
        return int(n) > 0

    def _others_started(self, at: datetime) -> bool:
        """Whether another NOC host started or beat its heart within :data:`ALIVE_S` before
        ``at`` and has not stopped since: it is running, though its results may not flow yet
        (it started a moment ago), so no time went unmonitored."""
        [(n,)] = self.db.query(
            "SELECT count(*) FROM daemon_events e WHERE e.detail <> ? AND e.at > ? "
            "AND e.kind IN ('start', 'heartbeat') AND NOT EXISTS (SELECT 1 FROM daemon_events s "
            "WHERE s.detail = e.detail AND s.kind = 'stop' AND s.at >= e.at)",
            (self.node, to_db(at - timedelta(seconds=ALIVE_S))),
        )
        return int(n) > 0

    def journal_id(self) -> str:
        return str(self.db.query("SELECT value FROM meta WHERE key = 'journal_id'")[0][0])

    def restore(self) -> Resume:
        paths = {
            PathKey(circuit=c, router=Router(r), demarc=Demarc(d)): (PathState(s), at_db(since))
            for c, r, d, s, since in self.db.query(
                "SELECT circuit, router, demarc, state, since FROM path_changes WHERE id IN "
                "(SELECT max(id) FROM path_changes WHERE node = ? "
                "GROUP BY circuit, router, demarc)",
                (self.node,),
            )
        }
        controls = {
            t: (PathState(s), at_db(since))
            for t, s, since in self.db.query(
                "SELECT target, state, since FROM control_changes WHERE id IN "
                "(SELECT max(id) FROM control_changes GROUP BY target)"
            )
        }
        incidents = self._open() + self._recent_closed()
        untold = [i.id for i in incidents if i.notified is None and i.id is not None]
        return Resume(
            paths=paths,
            controls=controls,
            incidents=tuple(incidents),
            blind=tuple(self.blind_intervals()),
            gaps=tuple(self.gaps()),
            first_results=self.first_results(),
            windows=tuple(self.windows()),
            notices=self._notices_of_recent(),
            accepted=tuple(self._outbox.accepted_untold(untold)),
            waiting=tuple(self._waiting()),
        )

    def _waiting(self) -> list[OutageWaiting]:
        """The outages waiting on the control targets, undecided (a partial index holds
        them: no scan of those decided)."""
        rows = self.db.query(
            'SELECT circuit, start, detected, single_vantage, doubt, "end" FROM waiting_outages '
            "WHERE seen IS NULL ORDER BY id"
        )
        return [
            OutageWaiting(circuit=c, start=at_db(s), detected=at_db(d), single=bool(one),
                          doubt=tuple((n, at_db(t)) for n, t in sorted(json.loads(doubt).items())),
                          end=from_db(e))
            for c, s, d, one, doubt, e in rows
        ]  # fmt: skip

    def _open(self) -> list[Incident]:
        rows = self.db.query(f'SELECT {_INCIDENT} FROM incidents WHERE "end" IS NULL ORDER BY id')
        return [_incident(r) for r in rows]

    def _recent_closed(self) -> list[Incident]:
        rows = self.db.query(
            f"SELECT {_INCIDENT} FROM {_RECENT} ORDER BY id", (RECENT_PER_CIRCUIT,)
        )
        return [_incident(r) for r in rows]

    def _notices_of_recent(self) -> dict[int, dict[tuple[str, str | None], frozenset[str]]]:
        """Per recent closed incident, (kind, group) of every notice stored for it -> the
        recipients of its rows (one per language). Read from the covering index
        ``outbox_incident``, not the rows and their message bodies."""
        rows = self.db.query(
            f"SELECT o.incident_id, o.kind, o.grp, o.recipients FROM outbox o JOIN {_RECENT} "
            "ON recent.id = o.incident_id",
            (RECENT_PER_CIRCUIT,),
        )
        out: dict[int, dict[tuple[str, str | None], frozenset[str]]] = {}
        for i, kind, group, recipients in rows:
            mine = out.setdefault(int(i), {})
            key = (str(kind), group)
            mine[key] = mine.get(key, frozenset()) | frozenset(json.loads(recipients))
        return out

    # -- reading -------------------------------------------------------------------------------
    def incidents(
        self, circuit: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[Incident]:
        sql, args = f"SELECT {_INCIDENT} FROM incidents WHERE 1 = 1", list[object]()
        if circuit is not None:
            sql, args = sql + " AND circuit = ?", [*args, circuit]
        if end is not None:
            sql, args = sql + " AND start < ?", [*args, to_db(end)]
        if start is not None:
            sql, args = sql + ' AND ("end" IS NULL OR "end" >= ?)', [*args, to_db(start)]
        return [_incident(r) for r in self.db.query(sql + " ORDER BY start, id", args)]

    def incident(self, incident_id: int) -> Incident | None:
        rows = self.db.query(f"SELECT {_INCIDENT} FROM incidents WHERE id = ?", (incident_id,))
        return _incident(rows[0]) if rows else None

    def gaps(self) -> list[Interval]:
        rows = self.db.query('SELECT start, "end" FROM gaps ORDER BY start')
        return [Interval(start=at_db(s), end=at_db(e)) for s, e in rows]

    def blind_intervals(self) -> list[Interval]:
        rows = self.db.query('SELECT start, "end" FROM blind_intervals ORDER BY start')
        return [Interval(start=at_db(s), end=from_db(e)) for s, e in rows]

    def first_results(self) -> dict[str, datetime]:
        return {c: at_db(at) for c, at in self.db.query("SELECT circuit, at FROM first_results")}

    def windows(self, circuit: str | None = None) -> list[Announced]:
        if circuit is None:
            rows = self.db.query(f"SELECT {_WINDOW} ORDER BY start, id")
        else:
            rows = self.db.query(f"SELECT {_WINDOW} AND circuit = ? ORDER BY start, id", (circuit,))
        return [_window(r) for r in rows]

    def node_views(
        self, incident_id: int, now: datetime, paths: int
    ) -> dict[str, list[tuple[datetime, datetime | None]]]:
        """Each NOC host's own view of an incident (store/vantages.py); {} if there is none."""
        incident = self.incident(incident_id)
        return {} if incident is None else node_views(self.db, incident, now, paths)

    def timeline(self, incident_id: int, now: datetime) -> list[TimelineEntry]:
        """Path changes, SNMP evidence, gaps, notices and the exclusions of one incident, in
        time order: from an hour before its start to the change that ended it (whose
        ``since`` is the backdated end, confirmed ``recover_after`` results later), or to
        ``now``."""
        incident = self.incident(incident_id)
        if incident is None:
            raise InputError(f"no incident {incident_id}", "id")
        lo = to_db(incident.start) - TIMELINE_BEFORE  # type: ignore[operator]
        hi = to_db(incident.end or now)
        args = (incident.circuit, lo, hi, lo, hi)
        out = [  # two NOC hosts: each node's view, named
            TimelineEntry(at=at_db(a), kind="path", text=f"{node + ': ' if node else ''}"
                          f"{r}/{d} {s} since {at_db(since).isoformat()}")
            for r, d, s, since, a, node in self.db.query(
                "SELECT router, demarc, state, since, at, node FROM path_changes WHERE "
                "circuit = ? AND (at BETWEEN ? AND ? OR since BETWEEN ? AND ?) ORDER BY at, id",
                args,
            )
        ]  # fmt: skip
        out += [
            TimelineEntry(at=at_db(a), kind="snmp", text=f"{r}/{d} {k} {t}")
            for r, d, k, t, a in self.db.query(
                "SELECT router, demarc, kind, text, at FROM snmp_evidence WHERE circuit = ? "
                "AND at BETWEEN ? AND ? ORDER BY at, id",
                args[:3],
            )
        ]
        out += [
            TimelineEntry(at=at_db(s), kind="gap", text=f"unmonitored until {at_db(e).isoformat()}")
            for s, e in self.db.query(
                'SELECT start, "end" FROM gaps WHERE "end" >= ? AND start <= ? ORDER BY start',
                (lo, hi),
            )
        ]
        out += [
            TimelineEntry(at=at_db(at), kind="exclusion", text=f"excluded: {reason}")
            for reason, at in self.db.query(
                "SELECT excluded_reason, excluded_at FROM incidents WHERE id = ? "
                "AND excluded_at IS NOT NULL",
                (incident_id,),
            )
        ]
        for w in self.withdrawals(incident_id):  # the exclusions undone, and each undoing
            if w.excluded_at is not None:
                out.append(TimelineEntry(at=w.excluded_at, kind="exclusion",
                                         text=f"excluded: {w.excluded}"))  # fmt: skip
            out.append(TimelineEntry(at=w.at, kind="exclusion",
                                     text=f"exclusion withdrawn: {w.reason}"))  # fmt: skip
        out += self.outbox.timeline(incident_id)
        return sorted(out, key=lambda e: e.at)

    # -- operators -----------------------------------------------------------------------------
    def add_window(
        self, circuit: str, window: MaintenanceWindow, source: str, at: datetime, by: str = ""
    ) -> Announced:
        with self.chain.transaction() as tx:
            [(wid, *_)] = tx.write(
                "maintenance",
                'INSERT INTO maintenance (circuit, start, "end", note, source, created_at, '
                "announced_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (circuit, to_db(window.start), to_db(window.end), window.note, source, to_db(at),
                 to_db(window.announced_at), by),
            )  # fmt: skip
        return Announced(
            id=int(wid),
            circuit=circuit,
            window=window,
            source=source,
            recorded_at=at,
            recorded_by=by,
        )

    def remove_window(self, window_id: int, at: datetime) -> Announced:
        with self.chain.transaction() as tx:
            rows = tx.write(
                "maintenance",
                "UPDATE maintenance SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (to_db(at), window_id),
            )
        if not rows:
            raise NotFoundError(
                f"no announced maintenance window {window_id} (configured windows are changed "
                "in the YAML)",
                "id",
            )
        return _window(_named("maintenance", rows[0]))

    def exclude(self, incident_id: int, reason: str, at: datetime) -> Incident:
        if not reason.strip():
            raise InputError(
                "an exclusion needs a reason (customer-caused, not attributable...)", "reason"
            )
        with self.chain.transaction() as tx:
            rows = tx.write(
                "incidents",
                "UPDATE incidents SET excluded_reason = ?, excluded_at = ? "
                "WHERE id = ? AND excluded_reason IS NULL",
                (reason.strip(), to_db(at), incident_id),
            )
        if rows:
            return _incident(_named("incidents", rows[0]))
        found = self.incident(incident_id)
        if found is None:
            raise NotFoundError(f"no incident {incident_id}", "id")
        raise InputError(  # the first stands: a second would erase the reason on record
            f"incident {incident_id} is already excluded ({found.excluded!r}); an exclusion "
            "stands as first recorded (withdraw it first to record another: slawatch "
            f"exclude {incident_id} --withdraw --reason TEXT)",
            "id",
        )

    def withdraw_exclusion(
        self, incident_id: int, reason: str, at: datetime
    ) -> tuple[Incident, Withdrawal]:
        if not reason.strip():
            raise InputError("a withdrawal needs a reason (why the exclusion was wrong)", "reason")
        with self.chain.transaction() as tx:  # chained writes one at a time: no race below
            rows = tx.execute(
                "SELECT circuit, excluded_reason, excluded_at FROM incidents WHERE id = ? "
                "AND excluded_reason IS NOT NULL",
                (incident_id,),
            )
            if rows:
                [(circuit, excluded, excluded_at)] = rows
                [stored] = tx.write(
                    "incidents",
                    "UPDATE incidents SET excluded_reason = NULL, excluded_at = NULL WHERE id = ?",
                    (incident_id,),
                )
                [(wid, *_)] = tx.write(
                    "exclusion_withdrawals",
                    "INSERT INTO exclusion_withdrawals (incident_id, circuit, excluded_reason, "
                    "excluded_at, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
                    (incident_id, circuit, excluded, excluded_at, reason.strip(), to_db(at)),
                )
        if rows:
            done = Withdrawal(id=int(wid), incident=incident_id, circuit=circuit,
                              excluded=excluded, excluded_at=from_db(excluded_at),
                              reason=reason.strip(), at=at)  # fmt: skip
            return _incident(_named("incidents", stored)), done
        if self.incident(incident_id) is None:
            raise NotFoundError(f"no incident {incident_id}", "id")
        said = f"incident {incident_id} is not excluded"
        for w in self.withdrawals(incident_id)[-1:]:  # the last exclusion, and its end
            said += f": its exclusion ({w.excluded!r}) was withdrawn at {w.at.isoformat()} "
            said += f"({w.reason!r})"
        raise InputError(f"{said}; nothing to withdraw", "id")

    def withdrawals(self, incident_id: int | None = None) -> list[Withdrawal]:
        sql = (
            "SELECT id, incident_id, circuit, excluded_reason, excluded_at, reason, at "
            "FROM exclusion_withdrawals"
        )
        if incident_id is None:
            rows = self.db.query(sql + " ORDER BY id")
        else:
            rows = self.db.query(sql + " WHERE incident_id = ? ORDER BY id", (incident_id,))
        return [
            Withdrawal(id=int(i), incident=int(n), circuit=c, excluded=e, excluded_at=from_db(ea),
                       reason=r, at=at_db(a))
            for i, n, c, e, ea, r, a in rows
        ]  # fmt: skip

    # -- audit trail ---------------------------------------------------------------------------
    def snapshot(self, at: datetime, month: str, circuit: str, payload: dict[str, Any]) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO snapshots (at, month, circuit, payload) VALUES (?, ?, ?, ?)",
                (to_db(at), month, circuit, json.dumps(payload)),
            )

    def prune_snapshots(self, before: datetime) -> int:
        """Delete snapshots older than ``before``; returns how many."""
        with self.db.transaction() as tx:
            return len(
                tx.execute("DELETE FROM snapshots WHERE at < ? RETURNING id", (to_db(before),))
            )


def _incident(row: Row) -> Incident:
    i, circuit, start, detected, end, notified, excluded, reason, single = row
    return Incident(
        id=int(i),
        circuit=circuit,
        start=at_db(start),
        detected=at_db(detected),
        end=from_db(end),
        notified=from_db(notified),
        excluded=excluded,
        closed_reason=reason,
        single_vantage=bool(single),
    )


def _window(row: Row) -> Announced:
    """A stored window, read within the sane bounds (an older version stored any dates)."""
    i, circuit, start, end, note, source, told, created, by = row
    window = clamp_window(
        MaintenanceWindow(start=at_db(start), end=at_db(end), note=note, announced_at=from_db(told))
    )
    return Announced(
        id=int(i),
        circuit=circuit,
        window=window,
        source=source,
        recorded_at=at_db(created),
        recorded_by=by,
    )


_ORDER = {
    "incidents": tuple(_INCIDENT.replace('"', "").split(", ")),
    "maintenance": (
        "id",
        "circuit",
        "start",
        "end",
        "note",
        "source",
        "announced_at",
        "created_at",
        "recorded_by",
    ),
}
"""The column order ``_incident`` and ``_window`` read, for a chained write's row."""


def _named(table: str, values: Row) -> Row:
    """A chained write's ``RETURNING`` row in the order its reader wants."""
    cols = dict(zip(CHAINED[table].columns, values, strict=True))
    return tuple(cols[c] for c in _ORDER[table])
