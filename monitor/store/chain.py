"""The hash chain in the journal: which rows are chained, and appending them (core/chain.py
says how a record's body and hash are made).

What the chain covers
---------------------
Every row of the tables in :data:`CHAINED`, as it stands after each write that changes it:
path and control changes, incidents (opened, notified, closed, excluded, exclusion withdrawn:
one record each), exclusions withdrawn (what was withdrawn, why, when), outages waiting on the
control targets (a row per change), each circuit's first result, blind intervals (opened,
ended), unmonitored gaps, announced maintenance windows (added, withdrawn), SNMP evidence,
probe evidence, notices (their identity, recipients and the SHA-256 of the exact message
bytes), every relay's answer for every recipient, the daemon's starts and stops, and RFC 3161
time-stamp tokens.

Not covered: the outbox's delivery state (``state``, ``attempts``, ``due_at``,
``claim_epoch``: bookkeeping of the sender, whose outcome is the chained ``deliveries``; and
its ``grp``, the contact group, which the chained Message-ID already names), the
heartbeat (one row rewritten every 10 s; the gaps it yields are chained), the nodes' liveness
rows (two NOC hosts), hourly SLA snapshots (figures recomputable from the chained facts,
pruned after 400 days), the lease and ``meta``. Chained with the rest: path changes name the
NOC host that saw them, incidents say whether one vantage decided, disagreements.

How a record is appended
------------------------
In the same transaction as the write: the writer's ``INSERT``/``UPDATE ... RETURNING`` gives
the row as stored, :meth:`Links.add` makes its record, and at the end the records go into
``chain (seq, kind, ref, body, hash)`` and the head into ``chain_head``. The head is read
with ``UPDATE chain_head SET seq = seq ... RETURNING`` as the transaction's first statement,
which takes the row's lock in PostgreSQL (two nodes never chain from the same head, and every
chained write takes its locks in the same order: no deadlock between them) and is a no-op
under SQLite's one writer: the same SQL on both, and one total order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from monitor.core.chain import EMPTY, ChainHead, body, link, row
from monitor.store.db import Database, Row, Tx


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A chained table: its columns (the first is the row's key), its binary columns, and
    which rows are chained (a SQL condition, or "" for all)."""

    name: str
    columns: tuple[str, ...]
    blobs: frozenset[str] = frozenset()
    where: str = ""

    @property
    def select(self) -> str:
        """The chained columns, quoted for SQL (``"end"`` is a keyword)."""
        return ", ".join(f'"{c}"' for c in self.columns)

    @property
    def returning(self) -> str:
        return f" RETURNING {self.select}"


def _t(name: str, columns: str, blobs: str = "", where: str = "") -> Table:
    return Table(name=name, columns=tuple(columns.split()), blobs=frozenset(blobs.split()),
                 where=where)  # fmt: skip


CHAINED: dict[str, Table] = {
    t.name: t
    for t in (
        _t("daemon_events", "id at kind detail", where="kind <> 'heartbeat'"),
        _t("first_results", "circuit at"),
        _t("path_changes", "id circuit router demarc state since at node"),
        _t("control_changes", "id target state since at"),
        _t("incidents", "id circuit start detected end notified excluded_reason excluded_at "
           "closed_reason single_vantage"),
        _t("exclusion_withdrawals", "id incident_id circuit excluded_reason excluded_at reason "
           "at"),
        _t("disagreements", "id circuit at views"),
        _t("waiting_outages", "id circuit start detected single_vantage doubt end seen"),
        _t("blind_intervals", "id start end"),
        _t("gaps", "id start end"),
        _t("maintenance", "id circuit start end note source announced_at created_at "
           "recorded_by removed_at"),
        _t("snmp_evidence", "id circuit router demarc at kind value text"),
        _t("probe_evidence", "id circuit incident_id reason start end at results readings "
           "data", blobs="data"),
        _t("outbox", "id message_id incident_id circuit kind recipients created_at body",
           blobs="body"),
        _t("deliveries", "id outbox_id recipient relay accepted at code reply permanent"),
        _t("timestamps", "id seq hash at tsa token", blobs="token"),
    )
}  # fmt: skip
"""Every chained table, in the order an old journal's rows are adopted (see :func:`adopt`)."""


def record_of(table: Table, values: Row) -> tuple[str, bytes]:
    """(ref, body) of one row: ``ref`` is its key as text (an id, or a circuit)."""
    return str(values[0]), body(table.name, row(table.columns, tuple(values), table.blobs))


class Links:
    """One transaction that chains what it writes: the :class:`Tx` calls, plus :meth:`add`."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._base: ChainHead | None = None
        self._head: ChainHead | None = None
        self._pending: list[tuple[int, str, str, str, str]] = []

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.tx.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.tx.executemany(sql, rows)

    def head(self) -> ChainHead:
        """The head as of now in this transaction (taking the head's lock on first use)."""
        if self._head is None:
            [(seq, h)] = self.tx.execute(
                "UPDATE chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash"
            )
            self._base = self._head = ChainHead(seq=int(seq), hash=str(h))
        return self._head

    def add(self, table: str, rows: Sequence[Row]) -> None:
        """Chain ``rows`` of ``table`` (as a writer's ``RETURNING`` gave them)."""
        spec = CHAINED[table]
        for values in rows:
            ref, record = record_of(spec, values)
            head = self.head()
            new = ChainHead(seq=head.seq + 1, hash=link(head.hash, record))
            self._pending.append((new.seq, table, ref, record.decode("utf-8"), new.hash))
            self._head = new

    def write(self, table: str, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Run an ``INSERT``/``UPDATE`` of ``table`` and chain the rows it changed (the
        chained columns are ``RETURNING``'d: ``sql`` must not say RETURNING itself)."""
        rows = self.tx.execute(sql + CHAINED[table].returning, args)
        self.add(table, rows)
        return rows

    def flush(self) -> ChainHead | None:
        """Write the records and the new head; the new head (None: nothing was chained)."""
        if not self._pending:
            return None
        self.tx.executemany(
            "INSERT INTO chain (seq, kind, ref, body, hash) VALUES (?, ?, ?, ?, ?)", self._pending
        )
        head = self._head
        assert head is not None
        self.tx.execute(
            "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (head.seq, head.hash)
        )
        self._pending = []
        return head


class Chain:
    """Chained transactions over ``db``; :attr:`last` is the head this process last wrote or
    read (for a gauge, and for a notice sent from memory: no query), always a committed one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.last: ChainHead = EMPTY
        self._staged: ChainHead | None = None
        """Inside :meth:`batch`: the head its writes reached, not committed yet."""

    @contextmanager
    def transaction(self) -> Iterator[Links]:
        with self.db.transaction() as tx:
            links = Links(tx)
            links.head()  # the head's lock first: one lock order for every chained write
            yield links
            head = links.flush()
        if head is not None:
            self._reached(head)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """``db.batch()``: :attr:`last` moves to the head its writes reached only once the
        batch has committed. A batch that fails at its commit (a full disk, a lost
        connection) leaves no head behind that the journal never held."""
        if self._staged is not None:  # nested: the outer batch commits
            with self.db.batch():
                yield
            return
        self._staged = self.last
        try:
            with self.db.batch():
                yield
            self.last = self._staged
        finally:
            self._staged = None

    def _reached(self, head: ChainHead) -> None:
        if self._staged is not None:
            self._staged = head
        else:
            self.last = head

    def head(self) -> ChainHead:
        """The journal's head now."""
        [(seq, h)] = self.db.query("SELECT seq, hash FROM chain_head WHERE id = 1")
        head = ChainHead(seq=int(seq), hash=str(h))
        self._reached(head)
        return head


def adopt(chain: Chain) -> int:
    """Chain the rows an older journal held before it had a chain (once: only while the
    chain is empty), table by table in :data:`CHAINED` order, each by its key. Records made
    so prove the rows' integrity from the upgrade on, not what happened before it. Returns
    how many rows were chained."""
    if chain.head().seq or not any(
        chain.db.query(f"SELECT 1 FROM {t.name} LIMIT 1") for t in CHAINED.values()
    ):
        return 0  # chained already, or nothing to chain: no write at open
    with chain.transaction() as tx:
        if tx.head().seq:  # another node adopted them meanwhile
            return 0
        n = 0
        for t in CHAINED.values():
            where = f" WHERE {t.where}" if t.where else ""
            rows = tx.execute(f'SELECT {t.select} FROM {t.name}{where} ORDER BY "{t.columns[0]}"')
            tx.add(t.name, rows)
            n += len(rows)
    return n
