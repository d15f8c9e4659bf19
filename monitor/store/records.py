"""What every store backend hands back: plain frozen values, the same for SQLite and PostgreSQL.

A leaf of ``monitor/store``: it imports nothing of ours. Times are aware UTC datetimes. (What a
restart needs, ``Resume``, and an announced window, ``Announced``, are the core's own values:
the supervisor reads them.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One line of an incident's timeline."""

    at: datetime
    kind: str
    text: str


class OutboxState(StrEnum):
    """``pending`` (due at ``due_at``) -> ``in_flight`` (claimed by a sender) -> ``done`` (every
    recipient accepted or refused for good), or back to ``pending`` for a retry."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A rendered notice to store: the message bytes and what it is about (``group``: the
    deadline ledger's contact group of an incident notice; None for the others, and for
    notices stored before groups were)."""

    message_id: str
    incident_id: int | None
    circuit: str
    kind: str
    recipients: tuple[str, ...]
    body: bytes
    due_at: datetime
    group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """A stored notice with its place in the outbox (``id``), state and attempt count, and the
    lease epoch it was last claimed under (0: never claimed, or a single node without a
    lease)."""

    id: int
    notice: Notice
    state: OutboxState
    attempts: int
    epoch: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """The leader lease as the database saw it (store/lease.py). Both times are on the
    database's clock: compare them with each other, never with a local clock."""

    holder: str | None
    """The node holding it; None when released (or never taken)."""
    epoch: int
    """Fencing epoch: +1 each time the holder changes; 0 until a node first takes the lease."""
    expires_at: datetime
    now: datetime
    """The database's clock when the lease was read or renewed."""

    @property
    def live(self) -> bool:
        """Held and not expired (on the database's clock)."""
        return self.holder is not None and self.expires_at > self.now

    @property
    def left(self) -> timedelta:
        """Time until expiry on the database's clock, clamped at zero."""
        return max(self.expires_at - self.now, timedelta(0))


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvidence:
    """Probe evidence as stored: ``data`` is the gzip'd JSON document (core/evidence.py)."""

    id: int
    circuit: str
    incident_id: int
    reason: str
    start: datetime
    end: datetime
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainRecord:
    """One record of the journal's chain (core/chain.py): ``body`` is its canonical JSON."""

    seq: int
    kind: str
    ref: str
    body: str
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamp:
    """An RFC 3161 time-stamp token over the head ``seq``/``hash``, got at ``at`` from ``tsa``
    (``token``: the DER TimeStampResp as the authority sent it)."""

    id: int
    seq: int
    hash: str
    at: datetime
    tsa: str
    token: bytes
