"""The store contract: what the daemon, the CLI and the reports need of a journal, whatever
keeps it (SQLite today, PostgreSQL for two NOC hosts).

Two seams:

- :class:`Database` is the SQL seam a backend provides: durable transactions and reads, with
  ``?`` placeholders and integer microseconds for time (the backend translates both if its
  driver wants something else), and a SQL function ``journal_now_us()``, the database's clock
  in microseconds since the epoch (the lease's only clock). Every query lives once, in
  ``sql.py``, ``outbox.py`` and ``lease.py``.
- :class:`Store` is what the rest of slawatch calls: facts in, records out. Synchronous; the
  daemon runs it on one worker thread through ``aio.AsyncStore``.

A backend is correct when ``tests/store/test_contract.py`` and ``test_lease.py`` pass against
it. Failures are :class:`~monitor.core.errors.JournalError` with a message that says what to do
(:class:`~monitor.core.errors.FencedError` for a notice claim under a stale lease epoch); an
absent record (an unknown incident, window) is an :class:`~monitor.core.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from monitor.core.chain import ChainHead
from monitor.core.facts import Fact
from monitor.core.inputs import Resume
from monitor.core.model import Announced, Interval, MaintenanceWindow, Withdrawal
from monitor.core.tracker import Incident
from monitor.store.db import Database, Row, Tx
from monitor.store.records import ChainRecord, Stamp, StoredEvidence, TimelineEntry

if TYPE_CHECKING:
    from monitor.store.lease import LeaseTable
    from monitor.store.nodes import NodesTable
    from monitor.store.outbox import Outbox
    from monitor.store.verify import ChainCheck

__all__ = ["Database", "Row", "Store", "Tx"]


class Store(Protocol):
    """The journal: every fact the daemon acts on, written durably before it acts."""

    @property
    def name(self) -> str: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def nodes(self) -> NodesTable: ...
    @property
    def lease(self) -> LeaseTable:
        """The leader lease (two NOC hosts); a single node never takes it."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Writes inside are durable together, at the end (``Database.batch``)."""
        ...

    # -- facts and the daemon's life ---------------------------------------------------------
    def record(self, facts: Sequence[Fact], *, epoch: int | None = None) -> bool:
        """Write facts in one durable transaction, in order. With ``epoch`` (two NOC hosts,
        the leader), the facts only a leader records are written only while that epoch holds
        the live lease (store/lease.py); False when they were refused (the node's own path
        changes are written all the same)."""
        ...

    def started(self, at: datetime) -> Interval | None:
        """Record a start; return (and record) the unmonitored gap since the daemon was last
        seen alive (its last heartbeat, start or stop), if any."""
        ...

    def others_fresh(self) -> bool:
        """Whether another NOC host's results are flowing now (two NOC hosts)."""
        ...

    def stopped(self, at: datetime) -> None: ...
    def heartbeat(self, at: datetime) -> None: ...
    def restore(self) -> Resume: ...
    def journal_id(self) -> str: ...

    # -- reading -------------------------------------------------------------------------------
    def incidents(
        self, circuit: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[Incident]:
        """Incidents overlapping ``[start, end)`` (either bound optional), oldest first."""
        ...

    def incident(self, incident_id: int) -> Incident | None: ...
    def gaps(self) -> list[Interval]: ...
    def blind_intervals(self) -> list[Interval]: ...
    def first_results(self) -> dict[str, datetime]: ...
    def timeline(self, incident_id: int, now: datetime) -> list[TimelineEntry]: ...
    def node_views(
        self, incident_id: int, now: datetime, paths: int
    ) -> dict[str, list[tuple[datetime, datetime | None]]]:
        """Per NOC host ("" for the only one) when it saw all ``paths`` down, overlapping the
        incident: its own view beside the incident's interval (the intersection)."""
        ...

    def windows(self, circuit: str | None = None) -> list[Announced]: ...

    # -- operators -----------------------------------------------------------------------------
    def add_window(
        self, circuit: str, window: MaintenanceWindow, source: str, at: datetime, by: str = ""
    ) -> Announced: ...

    def remove_window(self, window_id: int, at: datetime) -> Announced:
        """Withdraw an announced window; InputError if there is no such window in force."""
        ...

    def exclude(self, incident_id: int, reason: str, at: datetime) -> Incident:
        """Mark an incident excluded; InputError without a reason or an incident."""
        ...

    def withdraw_exclusion(
        self, incident_id: int, reason: str, at: datetime
    ) -> tuple[Incident, Withdrawal]:
        """Withdraw an incident's exclusion: the incident as it now stands (not excluded) and
        the withdrawal kept beside it; NotFoundError without an incident, InputError without
        a reason or an exclusion in force."""
        ...

    def withdrawals(self, incident_id: int | None = None) -> list[Withdrawal]:
        """Exclusions withdrawn (of one incident, or every one), oldest first."""
        ...

    # -- the hash chain and evidence (core/chain.py, store/chain.py) --------------------------
    def head(self) -> ChainHead:
        """The chain's last record (number and hash) now."""
        ...

    @property
    def known_head(self) -> ChainHead:
        """The head this process last wrote or read (no query)."""
        ...

    def verify(self) -> ChainCheck:
        """Walk the chain and check every chained row against its record."""
        ...

    def chain_records(self, lo: int, hi: int) -> list[ChainRecord]: ...
    def chain_seqs(self, kind: str, refs: Sequence[str]) -> list[int]: ...
    def evidence(self, incident_id: int) -> list[StoredEvidence]: ...
    def add_stamp(self, head: ChainHead, at: datetime, tsa: str, token: bytes) -> Stamp: ...
    def stamps(self) -> list[Stamp]: ...

    # -- audit trail -------------------------------------------------------------------------
    def snapshot(self, at: datetime, month: str, circuit: str, payload: dict[str, Any]) -> None: ...
    def prune_snapshots(self, before: datetime) -> int: ...
    def close(self) -> None: ...
