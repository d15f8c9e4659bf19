"""The NOC hosts sharing one journal (issue 13): who is alive, and what the others see.

Each node says it is alive every second or so, with how long its results stay fresh
(``fresh_until``, on the journal's clock: three probe intervals on). The leader asks which of
the others are live (fresh now, on the same clock) and reads their path changes since it last
asked. A second process starting under a node name already live elsewhere is refused: two
nodes with one name would each take the other's path changes for their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.errors import JournalError
from monitor.core.model import Demarc, PathKey, PathState, Router
from monitor.store.db import Database
from monitor.store.times import at_db, from_db


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerChange:
    """One path change another node recorded (its own view)."""

    node: str
    path: PathKey
    state: PathState
    since: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSeen:
    """One node as the journal knows it (this one included): when it last said it was alive
    and until when its results are fresh, both on the journal's clock, read at ``now``."""

    name: str
    seen_at: datetime
    fresh_until: datetime
    now: datetime

    @property
    def fresh(self) -> bool:
        return self.fresh_until > self.now


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerNews:
    """The live peers, and their path changes after ``last_id`` (read up to ``last_id``)."""

    live: tuple[str, ...]
    changes: tuple[PeerChange, ...]
    last_id: int


class NodesTable:
    """This node's row and the others', in the journal at ``db``."""

    def __init__(self, db: Database, node: str) -> None:
        self.db, self.node = db, node

    def alive(self, instance: str, fresh_for_s: float) -> None:
        """This node (process ``instance``) is alive, its results fresh for ``fresh_for_s``
        seconds more. JournalError when another process holds the name and is live."""
        fresh = int(fresh_for_s * 1_000_000)
        with self.db.transaction() as tx:
            rows = tx.execute(
                "INSERT INTO nodes (name, instance, fresh_until, seen_at) "
                "VALUES (?, ?, journal_now_us() + ?, journal_now_us()) "
                "ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, "
                "fresh_until = excluded.fresh_until, seen_at = excluded.seen_at "
                "WHERE nodes.instance = excluded.instance OR nodes.fresh_until < journal_now_us() "
                "RETURNING name",
                (self.node, instance, fresh),
            )
        if not rows:
            raise JournalError(
                f"cluster.node {self.node!r} is in use by another live slawatch on this journal: "
                "give each NOC host its own node name"
            )

    def roster(self) -> tuple[NodeSeen, ...]:
        """Every node that ever said it was alive on this journal, by name (for operators)."""
        rows = self.db.query(
            "SELECT name, seen_at, fresh_until, journal_now_us() FROM nodes ORDER BY name"
        )
        return tuple(
            NodeSeen(name=n, seen_at=at_db(seen), fresh_until=at_db(fresh), now=at_db(now))
            for n, seen, fresh, now in rows
        )

    def news(self, after_id: int | None = None) -> PeerNews:
        """The live peers and the others' path changes after ``after_id`` (oldest first);
        with None, each other node's latest state of each path (what a new leader starts
        from)."""
        live = tuple(
            n for (n,) in self.db.query(
                "SELECT name FROM nodes WHERE name <> ? AND fresh_until > journal_now_us() "
                "ORDER BY name",
                (self.node,),
            )
        )  # fmt: skip
        if after_id is None:
            after_id = 0
            rows = self.db.query(
                "SELECT id, node, circuit, router, demarc, state, since FROM path_changes "
                "WHERE id IN (SELECT max(id) FROM path_changes WHERE node <> ? "
                "GROUP BY node, circuit, router, demarc) ORDER BY id",
                (self.node,),
            )
        else:
            rows = self.db.query(
                "SELECT id, node, circuit, router, demarc, state, since FROM path_changes "
                "WHERE node <> ? AND id > ? ORDER BY id",
                (self.node, after_id),
            )
        changes = tuple(
            PeerChange(node=n, path=PathKey(circuit=c, router=Router(r), demarc=Demarc(d)),
                       state=PathState(st), since=from_db(since))
            for _, n, c, r, d, st, since in rows
        )  # fmt: skip
        return PeerNews(live=live, changes=changes, last_id=max((int(r[0]) for r in rows),
                                                                default=after_id))  # fmt: skip
