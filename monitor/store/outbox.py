"""The durable outbox: a notice is a row before it is a message on the wire.

States: ``pending`` (due at ``due_at``) -> ``in_flight`` (claimed by the sender) -> ``done``
(every recipient accepted or permanently refused) or back to ``pending`` (released for a
retry). A row still ``in_flight`` when the daemon starts was being sent when it died: it is
sent again with the same Message-ID. Enqueueing is idempotent on the Message-ID, so a
rebuilt ledger can offer the same notice twice and it is stored once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitor.store.schema import at_db, to_db


class DeliveryResult(Protocol):
    """What the outbox keeps of one recipient's fate (notify.transport.RecipientResult)."""

    @property
    def recipient(self) -> str: ...
    @property
    def relay(self) -> str | None: ...
    @property
    def accepted(self) -> bool: ...
    @property
    def at(self) -> datetime | None: ...
    @property
    def code(self) -> int | None: ...
    @property
    def reply(self) -> str: ...
    @property
    def permanent(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    id: int
    message_id: str
    incident_id: int | None
    circuit: str
    kind: str
    recipients: tuple[str, ...]
    due_at: datetime
    state: str
    body: bytes
    attempts: int


_COLS = "id, message_id, incident_id, circuit, kind, recipients, due_at, state, body, attempts"


def _item(row: Any) -> OutboxItem:
    i, mid, inc, circuit, kind, rcpts, due, state, body, attempts = row
    return OutboxItem(
        id=i,
        message_id=mid,
        incident_id=inc,
        circuit=circuit,
        kind=kind,
        recipients=tuple(json.loads(rcpts)),
        due_at=at_db(due),
        state=state,
        body=bytes(body),
        attempts=attempts,
    )


def enqueue(
    db: sqlite3.Connection,
    *,
    message_id: str,
    incident_id: int | None,
    circuit: str,
    kind: str,
    recipients: Sequence[str],
    body: bytes,
    due_at: datetime,
    created_at: datetime,
) -> bool:
    """Store a notice; False (and nothing written) if its Message-ID is already stored."""
    cur = db.execute(
        "INSERT INTO outbox (message_id, incident_id, circuit, kind, recipients, created_at, "
        "due_at, state, body) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) "
        "ON CONFLICT (message_id) DO NOTHING",
        (
            message_id,
            incident_id,
            circuit,
            kind,
            json.dumps(list(recipients)),
            to_db(created_at),
            to_db(due_at),
            body,
        ),
    )
    return cur.rowcount == 1


def claim_due(db: sqlite3.Connection, now: datetime, limit: int) -> list[OutboxItem]:
    """Pending notices due by ``now`` become in flight (oldest due first)."""
    rows = db.execute(
        f"SELECT {_COLS} FROM outbox WHERE state = 'pending' AND due_at <= ? "
        "ORDER BY due_at, id LIMIT ?",
        (to_db(now), limit),
    ).fetchall()
    db.executemany(
        "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1 WHERE id = ?",
        [(r[0],) for r in rows],
    )
    return [_item((*r[:7], "in_flight", r[8], r[9] + 1)) for r in rows]


def in_flight(db: sqlite3.Connection) -> list[OutboxItem]:
    """Notices that were being sent when the daemon stopped."""
    return [
        _item(r)
        for r in db.execute(
            f"SELECT {_COLS} FROM outbox WHERE state = 'in_flight' ORDER BY id"
        ).fetchall()
    ]


def record_delivery(
    db: sqlite3.Connection, outbox_id: int, results: Iterable[DeliveryResult], state: str
) -> None:
    """Keep every recipient's result; ``state`` is ``done`` or ``pending``."""
    db.executemany(
        "INSERT INTO deliveries (outbox_id, recipient, relay, accepted, at, code, reply, "
        "permanent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                outbox_id,
                r.recipient,
                r.relay,
                int(r.accepted),
                to_db(r.at),
                r.code,
                r.reply,
                int(r.permanent),
            )
            for r in results
        ],
    )
    db.execute("UPDATE outbox SET state = ? WHERE id = ?", (state, outbox_id))


def release(
    db: sqlite3.Connection,
    outbox_id: int,
    retry_at: datetime,
    recipients: Sequence[str] | None = None,
) -> None:
    """Back to pending, due again at ``retry_at`` (optionally for fewer recipients)."""
    if recipients is not None:
        db.execute(
            "UPDATE outbox SET recipients = ? WHERE id = ?",
            (json.dumps(list(recipients)), outbox_id),
        )
    db.execute(
        "UPDATE outbox SET state = 'pending', due_at = ? WHERE id = ?", (to_db(retry_at), outbox_id)
    )


def first_acceptance(
    db: sqlite3.Connection, incident_id: int, recipients: Iterable[str]
) -> datetime | None:
    """Earliest acceptance of any notice of the incident by one of ``recipients``."""
    wanted = list(recipients)
    if not wanted:
        return None
    marks = ", ".join("?" * len(wanted))
    value = db.execute(
        "SELECT min(d.at) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id "
        f"WHERE o.incident_id = ? AND d.accepted = 1 AND d.recipient IN ({marks})",
        (incident_id, *wanted),
    ).fetchone()[0]
    return None if value is None else at_db(value)


def notice_timeline(query: Callable[..., list[Any]], incident_id: int) -> list[Any]:
    """Timeline entries for every notice of an incident and each recipient's result."""
    from monitor.store.journal import TimelineEntry

    out = [
        TimelineEntry(at=at_db(created), kind="notice", text=f"{kind} {mid} queued ({state})")
        for mid, kind, state, created in query(
            "SELECT message_id, kind, state, created_at FROM outbox WHERE incident_id = ?",
            (incident_id,),
        )
    ]
    for kind, rcpt, relay, accepted, at, code, reply in query(
        "SELECT o.kind, d.recipient, d.relay, d.accepted, d.at, d.code, d.reply "
        "FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE o.incident_id = ? "
        "AND d.at IS NOT NULL",
        (incident_id,),
    ):
        verdict = "accepted" if accepted else "refused"
        out.append(
            TimelineEntry(
                at=at_db(at),
                kind="delivery",
                text=f"{kind} to {rcpt}: {verdict} by {relay} ({code} {reply})",
            )
        )
    return out
