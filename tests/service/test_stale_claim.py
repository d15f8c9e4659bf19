"""A delivery claimed under one lease epoch, in its backoff when the lead passed to the other
host and back (a new epoch), went on under the new lease: it sent a notice the other host
had delivered already, and its write-down, under the old epoch, left the row in flight (a
review found both). Tries are now bounded by the claim's own epoch, and the new claim
delivers the row after the old delivery ends.

The real notifier, journal writer, SQLite journal (lease table, fenced claims) and the real
Mailer's retry loop (_run); the SMTP attempt and the backoff sleep are scripted, to put the
lead's changes exactly between two tries.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from monitor.clock import utcnow
from monitor.core.plan import NotifyPlan
from monitor.notify.mailer import Mailer, _Attempt
from monitor.notify.relays import Relay
from monitor.notify.transport import AttemptLog, Outcome, RecipientResult
from monitor.service.notifier import Notifier
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.records import Notice, OutboxState
from monitor.store.sql import SqlStore

RCPT = "ops@example.com"


class Gate:
    def __init__(self, epoch: int) -> None:
        self.epoch: int | None = epoch

    def may_send(self) -> bool:
        return self.epoch is not None

    def left(self) -> float:
        return 60.0 if self.epoch is not None else 0.0

    def fenced(self) -> None:
        raise AssertionError("fenced")


class Scripted(Mailer):
    """Attempt 1: 451 (deferred); later attempts: accepted. The backoff waits for the test."""

    def __init__(self) -> None:
        self.resume = asyncio.Event()
        self.in_backoff = asyncio.Event()
        self.sent: list[str] = []

        async def sleep(_: float) -> None:
            self.in_backoff.set()
            await self.resume.wait()

        super().__init__([Relay(host="relay.invalid", name="r1")], sleep=sleep)

    async def _attempt(self, relay, msg, rcpts, budget):  # type: ignore[no-untyped-def,override]
        now = utcnow()
        first = not self.in_backoff.is_set()
        outcome, code = (Outcome.TEMPFAIL, 451) if first else (Outcome.ACCEPTED, 250)
        log = AttemptLog(relay=relay.name, recipients=rcpts, started=now, finished=now,
                         elapsed_s=0.0, outcome=outcome, code=code, reply="x")  # fmt: skip
        a = _Attempt(log=log)
        if first:
            a.deferred = {r: (451, "try later") for r in rcpts}
        else:
            self.sent.append(str(msg["Message-ID"]))
            a.accepted = {r: RecipientResult(recipient=r, relay=relay.name, accepted=True, at=now,
                                             code=250, reply="ok", permanent=False)
                          for r in rcpts}  # fmt: skip
        return a


def message(mid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"] = "slawatch@localhost", RCPT, mid
    msg["Subject"] = "opened"
    msg.set_content("every path down")
    return bytes(msg)


async def scenario(tmp_path: Path, b_delivers: bool) -> tuple[list[str], OutboxState]:
    store = open_store(str(tmp_path / "journal.db"), node="noc-a")
    assert isinstance(store, SqlStore)
    e1 = store.lease.acquire_or_renew("noc-a", 600)
    assert e1 is not None
    now = utcnow()
    notice = Notice(message_id="<m1@x>", incident_id=1, circuit="c1", kind="opened",
                    recipients=(RCPT,), body=message("<m1@x>"), due_at=now)  # fmt: skip
    store.outbox.put(notice, now)
    journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
    writer: Writer[SqlStore] = Writer(journal)
    gate = Gate(e1.epoch)
    mailer = Scripted()
    notifier = Notifier(writer=writer, transport=mailer, plan=NotifyPlan(), origin="j",
                        wall=utcnow, on_delivered=lambda d: None, gate=gate)  # fmt: skip
    runner = asyncio.create_task(writer.run())
    notifier.start()
    try:
        await asyncio.wait_for(mailer.in_backoff.wait(), 10)  # attempt 1 deferred: backing off
        # noc-a loses the lead; noc-b takes it (a new epoch), claims what was in flight and
        # delivers it, then hands the lease back (a clean stop); noc-a leads again (new epoch)
        gate.epoch = None
        await asyncio.sleep(1.2)  # the send loop stands by
        store_b = open_store(str(tmp_path / "journal.db"), node="noc-b")
        assert isinstance(store_b, SqlStore)

        # noc-a's lease lapses (as if expired: the row is free for noc-b)
        assert await journal.run(lambda s: s.lease.release("noc-a"))
        e2 = store_b.lease.acquire_or_renew("noc-b", 600)
        assert e2 is not None and e2.epoch != e1.epoch
        [orphan] = store_b.outbox.claim_orphans(e2.epoch)
        done = (not b_delivers) or store_b.outbox.finish(
            orphan.id,
            [RecipientResult(recipient=RCPT, relay="r1", accepted=True, at=utcnow(), code=250,
                             reply="ok (sent by noc-b)", permanent=False)],
            utcnow(), e2.epoch)  # fmt: skip
        assert done
        assert store_b.lease.release("noc-b")
        store_b.close()
        e3 = await journal.run(lambda s: s.lease.acquire_or_renew("noc-a", 600))
        assert e3 is not None and e3.epoch not in (e1.epoch, e2.epoch)
        gate.epoch = e3.epoch
        await asyncio.sleep(1.5)  # noc-a's send loop claims under e3
        mailer.resume.set()  # the old delivery's backoff ends
        await asyncio.sleep(1.0)
        [row] = await journal.run(lambda s: s.outbox.notices())
        return mailer.sent, row.state
    finally:
        await notifier.close()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal.close()


async def test_a_stale_claim_does_not_send_what_the_other_host_delivered(tmp_path: Path) -> None:
    """noc-b delivered the notice (done); noc-a's old delivery must not send it again."""
    sent, state = await scenario(tmp_path, b_delivers=True)
    assert sent == [], f"sent again under a stale claim: {sent}, row {state}"


async def test_a_stale_claims_write_down_does_not_leave_the_row_in_flight(tmp_path: Path) -> None:
    """noc-b claimed the notice and stopped before sending; noc-a leads again (new epoch),
    its claim of the orphan skipped (its old task is still active); the old task sends and
    writes down under the old epoch: the row must not stay in flight (no one sends or
    finishes an in-flight row until the next change of epoch or a restart)."""
    sent, state = await scenario(tmp_path, b_delivers=False)
    await asyncio.sleep(0)
    assert state is not OutboxState.IN_FLIGHT, (sent, state)
