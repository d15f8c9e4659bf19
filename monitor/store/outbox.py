"""The durable outbox: a notice is a row before it is a message on the wire.

States (``records.OutboxState``): ``pending`` (due at ``due_at``) -> ``in_flight`` (claimed by
a sender) -> ``done`` (every recipient accepted or permanently refused), or back to
``pending`` for a retry. A row still ``in_flight`` when the daemon starts was being sent when
it died: it is sent again with the same Message-ID. Storing is idempotent on the Message-ID,
so a rebuilt ledger can offer the same notice twice and it is stored once.

Claims are fenced (two NOC hosts, store/lease.py): a claim carries the claimer's lease epoch
and the database refuses it (:class:`~monitor.core.errors.FencedError`) unless that epoch is
the lease's current one and the lease is live. A single node claims with epoch 0 and never
takes a lease, so its claims always pass.

Backend-neutral: it speaks only the :class:`~monitor.store.base.Database` seam.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import groupby

from monitor.core.chain import ChainHead
from monitor.core.errors import FencedError
from monitor.core.inputs import Delivered
from monitor.core.notices import Delivery
from monitor.store.chain import Chain, Links
from monitor.store.db import Database, Row
from monitor.store.lease import holds
from monitor.store.records import Notice, OutboxItem, OutboxState, TimelineEntry
from monitor.store.times import at_db, from_db, to_db

ACCEPTED_CHUNK = 500
"""Incident ids asked about in one query (SQLite's bound parameters are limited)."""

_COLS = (
    "id, message_id, incident_id, circuit, kind, recipients, due_at, state, body, attempts, "
    "claim_epoch, grp"
)


class Outbox:
    """Notices waiting, in flight and done, with every recipient's result."""

    def __init__(self, db: Database, chain: Chain | None = None) -> None:
        self.db = db
        self.chain = chain or Chain(db)

    def put(
        self,
        notice: Notice,
        at: datetime,
        stamp: Callable[[ChainHead], bytes] | None = None,
        *,
        epoch: int | None = None,
    ) -> OutboxItem | None:
        """Store a notice (recorded at ``at``); None, and nothing written, if its Message-ID
        is already stored. With ``stamp``, the stored message is ``stamp(head)``: the notice
        rendered with the journal's head at this moment, inside the transaction that chains
        the notice's own row right after that head (so the head a notice carries is exactly
        the record before it). With ``epoch`` (two NOC hosts), only while that epoch holds the
        live lease: FencedError otherwise (store/lease.py)."""
        with self.chain.transaction() as tx:
            if epoch is not None and not holds(tx.tx, epoch):
                raise FencedError(
                    f"notice {notice.message_id} not stored: lease epoch {epoch} is not the live "
                    "lease's (another node leads now, or this node's lease lapsed)"
                )
            body = notice.body if stamp is None else stamp(tx.head())
            rows = tx.execute(
                "INSERT INTO outbox (message_id, incident_id, circuit, kind, grp, recipients, "
                "created_at, due_at, state, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) "
                f"ON CONFLICT (message_id) DO NOTHING RETURNING {_COLS}",
                (notice.message_id, notice.incident_id, notice.circuit, notice.kind,
                 notice.group, json.dumps(list(notice.recipients)), to_db(at),
                 to_db(notice.due_at), body),
            )  # fmt: skip
            if rows:
                _chain(tx, rows[0], at)
        return _item(rows[0]) if rows else None

    def claim_due(self, now: datetime, limit: int, epoch: int = 0) -> list[OutboxItem]:
        """Up to ``limit`` pending notices due by ``now`` become in flight under lease
        ``epoch``, in the order they were stored (the order owed: a recovery due, backdated,
        before the escalation stored just ahead of it must not be claimed in an earlier batch
        than it). One statement, so two claimers never take the same row. FencedError if
        ``epoch`` is not the live lease's epoch (and there was something to claim)."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, "
                "claim_epoch = ? WHERE state = 'pending' AND id IN (SELECT id FROM outbox "
                "WHERE state = 'pending' AND due_at <= ? ORDER BY id LIMIT ?) "
                f"RETURNING {_COLS}",
                (epoch, to_db(now), limit),
            )
        return sorted((_item(r) for r in rows), key=lambda i: i.id)

    def claim_orphans(self, epoch: int = 0) -> list[OutboxItem]:
        """Every notice in flight (left by a node that died, was paused or lost the lease,
        or by this node before it restarted) is claimed again under ``epoch``: the same row,
        so sent again with the same Message-ID. Call it on becoming leader (or at start),
        before this node claims anything itself. FencedError as for :meth:`claim_due`."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, claim_epoch = ? "
                f"WHERE state = 'in_flight' RETURNING {_COLS}",
                (epoch,),
            )
        return sorted((_item(r) for r in rows), key=lambda i: i.id)

    def in_flight(self) -> list[OutboxItem]:
        """Notices that were being sent when the daemon stopped."""
        rows = self.db.query(f"SELECT {_COLS} FROM outbox WHERE state = 'in_flight' ORDER BY id")
        return [_item(r) for r in rows]

    def finish(
        self,
        item_id: int,
        results: Sequence[Delivery],
        retry_at: datetime,
        epoch: int | None = None,
    ) -> bool:
        """Keep every recipient's result; the notice is done when each recipient was accepted
        or refused for good, else pending again, due at ``retry_at``. True when done. With
        ``epoch`` (the claim's), the notice's state is left alone if another claim has taken
        it since (a leader that lost its lease finishing late must not put back to pending
        what the new leader claimed, or has sent: it would be sent again); its results are
        kept all the same (a relay's answer happened)."""
        with self.chain.transaction() as tx:
            return _finish(tx, item_id, results, retry_at, epoch)

    def record_sent(
        self, notice: Notice, at: datetime, results: Sequence[Delivery], retry_at: datetime
    ) -> bool:
        """A notice delivered before it could be stored (the journal refused writes): store it
        now with what became of it, in one transaction. True when it is done."""
        with self.chain.transaction() as tx:
            rows = tx.execute(
                "INSERT INTO outbox (message_id, incident_id, circuit, kind, grp, recipients, "
                "created_at, due_at, state, body, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'in_flight', ?, 1) "
                f"ON CONFLICT (message_id) DO NOTHING RETURNING {_COLS}",
                (notice.message_id, notice.incident_id, notice.circuit, notice.kind,
                 notice.group, json.dumps(list(notice.recipients)), to_db(at),
                 to_db(notice.due_at), notice.body),
            )  # fmt: skip
            if rows:
                _chain(tx, rows[0], at)
            [(item_id,)] = tx.execute(
                "SELECT id FROM outbox WHERE message_id = ?", (notice.message_id,)
            )
            return _finish(tx, int(item_id), results, retry_at)

    def notices(self, incident_id: int | None = None) -> list[OutboxItem]:
        """Every stored notice (of one incident), oldest first."""
        if incident_id is None:
            rows = self.db.query(f"SELECT {_COLS} FROM outbox ORDER BY id")
        else:
            rows = self.db.query(
                f"SELECT {_COLS} FROM outbox WHERE incident_id = ? ORDER BY id", (incident_id,)
            )
        return [_item(r) for r in rows]

    def deliveries(self, item_id: int) -> list[Delivery]:
        """Every recipient result recorded for one notice, in the order they were recorded."""
        rows = self.db.query(
            "SELECT recipient, relay, accepted, at, code, reply, permanent FROM deliveries "
            "WHERE outbox_id = ? ORDER BY id",
            (item_id,),
        )
        return [
            Delivery(recipient=r, relay=relay, accepted=bool(ok), at=from_db(at), code=code,
                     reply=reply, permanent=bool(perm))
            for r, relay, ok, at, code, reply, perm in rows
        ]  # fmt: skip

    def accepted_untold(self, incidents: Sequence[int]) -> list[Delivered]:
        """The relays' acceptances of notices about ``incidents`` (those a start restores that
        the journal holds as never notified), one :class:`Delivered` per notice (its accepted
        results and contact group), oldest first: a start takes the notification time from
        them (core/restore.py). By incident, through the outbox's and the deliveries' indexes:
        a scan of every delivery ever made took ~0.25 s at a start on a year's journal."""
        return self._accepted(incidents, "AND i.notified IS NULL ")

    def accepted_of(self, incidents: Sequence[int]) -> list[Delivered]:
        """The relays' acceptances of notices about ``incidents``, as :meth:`accepted_untold`
        gives them: a leader asks for those of the incidents it still waits to see notified,
        for what another NOC host wrote down after this one resumed (service/cluster.py)."""
        return self._accepted(incidents, "")

    def _accepted(self, incidents: Sequence[int], also: str) -> list[Delivered]:
        rows: list[Row] = []
        for n in range(0, len(incidents), ACCEPTED_CHUNK):
            ids = tuple(incidents[n : n + ACCEPTED_CHUNK])
            rows += self.db.query(
                "SELECT o.id, o.incident_id, i.circuit, o.kind, o.grp, d.recipient, d.relay, "
                "d.at, d.code, d.reply FROM outbox o JOIN incidents i ON i.id = o.incident_id "
                "JOIN deliveries d ON d.outbox_id = o.id WHERE o.incident_id IN "
                f"({', '.join('?' * len(ids))}) {also}AND d.accepted = 1 AND d.at IS NOT NULL",
                ids,
            )
        rows.sort(key=lambda r: (r[0], r[5], r[7]))  # by notice, then recipient and time
        return [
            Delivered(incident=int(incident), circuit=circuit, kind=kind, group=grp,
                      results=tuple(
                Delivery(recipient=r, relay=relay, accepted=True, at=at_db(at), code=code,
                         reply=reply, permanent=False)
                for _, _, _, _, _, r, relay, at, code, reply in rows_of))
            for (_, incident, circuit, kind, grp), rows_of in groupby(rows, key=lambda r: r[:5])
        ]  # fmt: skip

    def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """Timeline entries for every notice of an incident and each recipient's result."""
        out = [
            TimelineEntry(at=at_db(created), kind="notice", text=f"{kind} {mid} queued ({state})")
            for mid, kind, state, created in self.db.query(
                "SELECT message_id, kind, state, created_at FROM outbox WHERE incident_id = ?",
                (incident_id,),
            )
        ]
        for kind, rcpt, relay, accepted, at, code, reply in self.db.query(
            "SELECT o.kind, d.recipient, d.relay, d.accepted, d.at, d.code, d.reply "
            "FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE o.incident_id = ? "
            "AND d.at IS NOT NULL",
            (incident_id,),
        ):
            verdict = "accepted" if accepted else "refused"
            answer = reply if code is None else f"{code} {reply}"  # a maildir has no SMTP code
            text = f"{kind} to {rcpt}: {verdict} by {relay} ({answer})"
            out.append(TimelineEntry(at=at_db(at), kind="delivery", text=text))
        return out


def _chain(tx: Links, row: Row, at: datetime) -> None:
    """Chain a stored notice: its identity, recipients, time and message bytes."""
    i, mid, incident, circuit, kind, rcpts, _, _, body, _, _, _ = row
    tx.add("outbox", [(i, mid, incident, circuit, kind, rcpts, to_db(at), body)])


def _finish(
    tx: Links,
    item_id: int,
    results: Sequence[Delivery],
    retry_at: datetime,
    epoch: int | None = None,
) -> bool:
    done = all(not r.pending for r in results)
    for r in results:
        tx.write(
            "deliveries",
            "INSERT INTO deliveries (outbox_id, recipient, relay, accepted, at, code, reply, "
            "permanent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, r.recipient, r.relay, int(r.accepted), to_db(r.at), r.code, r.reply,
             int(r.permanent)),
        )  # fmt: skip
    mine, args = ("", ()) if epoch is None else (" AND claim_epoch = ?", (epoch,))
    if done:
        tx.execute(f"UPDATE outbox SET state = 'done' WHERE id = ?{mine}", (item_id, *args))
    else:
        tx.execute(
            f"UPDATE outbox SET state = 'pending', due_at = ? WHERE id = ?{mine}",
            (to_db(retry_at), item_id, *args),
        )
    return done


def _item(row: Row) -> OutboxItem:
    i, mid, incident, circuit, kind, rcpts, due, state, body, attempts, epoch, group = row
    notice = Notice(
        message_id=mid,
        incident_id=incident,
        circuit=circuit,
        kind=kind,
        group=group,
        recipients=tuple(json.loads(rcpts)),
        body=bytes(body),
        due_at=at_db(due),
    )
    return OutboxItem(
        id=int(i),
        notice=notice,
        state=OutboxState(state),
        attempts=int(attempts),
        epoch=int(epoch),
    )
