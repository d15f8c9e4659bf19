"""The leader lease with a fencing epoch: which node may send notices (two NOC hosts, issue 13).

Theory of operation
-------------------
One row (table ``lease``): the holder, a fencing ``epoch`` and ``expires_at``, all decided by
the journal's database on *its* clock (``journal_now_us()``: ``now()`` on PostgreSQL; on
SQLite, one host, the host's clock). No node's clock is compared with another's.

- :meth:`LeaseTable.acquire_or_renew` is one conditional ``UPDATE ... RETURNING``: it succeeds
  when the row is free, expired, or already ours, and sets ``expires_at = now + lease_s``. The
  epoch goes up by one exactly when the holder changes (a renewal, even one after our own
  lease lapsed unnoticed by anyone, keeps it). Two nodes racing: the database serialises the
  two updates on the row; the second sees the first's fresh ``expires_at`` and gets ``None``.
- :meth:`LeaseTable.release` hands the row back (a clean shutdown: the standby need not wait
  for expiry).
- **Fencing.** A notice is claimed with the claimer's epoch (``Outbox.claim_due(...,
  epoch=)``, ``Outbox.claim_orphans(epoch)``). The database refuses the claim (a trigger on
  ``outbox.claim_epoch``) unless the epoch is the lease's current epoch and the lease is live
  (held, not expired), raising :class:`~monitor.core.errors.FencedError`. Epoch 0 means "no
  lease was ever taken in this journal": a single node claims with 0 and never takes a lease.
  On PostgreSQL the trigger reads the lease row ``FOR SHARE``, so a claim and a change of
  holder are ordered: a claim either commits before the takeover (then the new leader finds
  it in flight and claims it as an orphan) or sees the new epoch and is refused.

The timing rule (for the shell)
-------------------------------
With ``lease_s`` and ``renew_s`` from ``cluster:`` (issue 13: 30 s and 5 s):

1. Every ``renew_s``, call ``acquire_or_renew(node, lease_s)``. Before the call, read the
   local clock ``m0 = time.clock_gettime(CLOCK_BOOTTIME)`` (monotonic, and unlike
   ``time.monotonic()`` it keeps counting while the host is suspended; it counts while the
   process is SIGSTOPped either way).
2. On success, the node may **send until ``m0 + lease_s − 2·renew_s``** on that clock: from
   when the successful renewal *began*, not when its answer came back, so a slow answer eats
   the leader's own time, never the standby's. On ``None`` stop sending at once; on
   :class:`JournalError` (database unreachable) keep the deadline of the last success and keep
   trying.
3. Check the deadline immediately before each claim and each SMTP transaction. A claim after
   a takeover is refused by the database anyway (``FencedError``: stop sending); the deadline
   check is what stops a notice claimed *before* a pause from being sent *after* it. What is
   left is the time between that check and the relay's answer: keep the relays' timeout
   under ``2·renew_s``.
4. Why it holds: the database sets ``expires_at`` at a real time r1 no earlier than the
   renewal began (r0), so the standby can win only after ``r1 + lease_s ≥ r0 + lease_s``,
   while the leader stopped starting sends at ``r0 + lease_s − 2·renew_s``: a ``2·renew_s``
   margin for a send in progress and for clock rate differences. Needs ``lease_s > 2·renew_s``.
5. On becoming leader (an epoch other than the one it last held, or at start) call
   ``Outbox.claim_orphans(epoch)`` before ``claim_due``: every notice left in flight (by the
   old leader, or by this node before it restarted) is claimed under the new epoch and sent
   again as the same row, so with the same Message-ID. Only then, since nothing of this node's
   own is in flight yet.
6. The standby takes over within ``lease_s + renew_s`` of the leader's last renewal. On
   ``stop``, ``release(node)`` lets it take over at its next attempt.

A paused leader holding a transaction open cannot block the lease row for long: the
PostgreSQL session ends it after ``idle_in_transaction_session_timeout`` (store/postgres.py).

The leader's own record is fenced the same way: the facts only a leader writes (incidents,
blind intervals, control targets, disagreements) and the notices it stores are written under
its epoch (``SqlStore.record(..., epoch=)``, ``Outbox.put(..., epoch=)``), in a transaction
that first locks the lease row if, and only if, that epoch still holds a live lease
(:func:`holds`). A leader paused past its lease that wakes up with writes queued cannot close
the new leader's incident, or give its incident number to another outage; and the row lock
orders the write before or after a takeover, so a new leader that resumes from the journal
sees everything its predecessor wrote under the lease. A node's own path changes are never
fenced: they are its view, true whoever leads.

A stale leader's ``Outbox.finish`` is not fenced: the results it records are true (a relay did
accept or refuse). At worst it moves a notice the new leader is sending back to ``pending``,
and the notice is sent again with the same Message-ID: a duplicate Message-ID, never a lost
notice.
"""

from __future__ import annotations

from monitor.core.errors import InputError
from monitor.store.db import Database, Row, Tx
from monitor.store.records import Lease
from monitor.store.times import at_db

_ACQUIRE = """
UPDATE lease SET
    epoch = CASE WHEN holder = ? THEN epoch ELSE epoch + 1 END,
    acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE journal_now_us() END,
    holder = ?,
    renewed_at = journal_now_us(),
    expires_at = journal_now_us() + ?
WHERE id = 1 AND (holder = ? OR holder IS NULL OR expires_at <= journal_now_us())
RETURNING holder, epoch, expires_at, renewed_at
"""


_HOLDS = """
UPDATE lease SET epoch = epoch
WHERE id = 1 AND epoch = ? AND holder IS NOT NULL AND expires_at > journal_now_us()
RETURNING epoch
"""


def holds(tx: Tx, epoch: int) -> bool:
    """Whether ``epoch`` is the live lease's, locking the lease row until ``tx`` ends if it
    is (so no takeover can commit in between); see the module docstring."""
    return bool(tx.execute(_HOLDS, (epoch,)))


class LeaseTable:
    """The ``lease`` row of one journal; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire_or_renew(self, node: str, lease_s: float) -> Lease | None:
        """Take the lease for ``node`` (or renew it) for ``lease_s`` seconds from now on the
        database's clock; None when another node holds a live lease."""
        if not node.strip():
            raise InputError("a node needs a name (cluster.node)", "node")
        if not lease_s > 0:
            raise InputError(f"lease_s must be positive, not {lease_s}", "lease_s")
        micros = round(lease_s * 1_000_000)
        with self.db.transaction() as tx:
            rows = tx.execute(_ACQUIRE, (node, node, node, micros, node))
        return _lease(rows[0]) if rows else None

    def release(self, node: str) -> bool:
        """Give the lease up if ``node`` holds it (expired or not); True if it did. The next
        holder, this node included, gets a new epoch."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE lease SET holder = NULL, expires_at = journal_now_us() "
                "WHERE id = 1 AND holder = ? RETURNING epoch",
                (node,),
            )
        return bool(rows)

    def current(self) -> Lease:
        """The lease as it stands (``holder`` None if free; check ``live`` for expiry)."""
        [row] = self.db.query(
            "SELECT holder, epoch, expires_at, journal_now_us() FROM lease WHERE id = 1"
        )
        return _lease(row)


def _lease(row: Row) -> Lease:
    holder, epoch, expires, now = row
    return Lease(holder=holder, epoch=int(epoch), expires_at=at_db(expires), now=at_db(now))
