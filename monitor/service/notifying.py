"""Notices from the ledger to the relays, through the durable outbox in the journal.

Order of events for one notice: the ledger says an action is due -> the notice is rendered
(one message per language among its recipients) and written to the outbox (idempotent on its
Message-ID) -> the sender claims it (``in_flight``) and hands it to the transport (SMTP relays
with fail-over, or the local Maildir) -> each recipient's acceptance is recorded -> the
earliest acceptance by a designated contact becomes the incident's notification time in the
core. A crash between "sent" and "recorded" leaves the row in flight; on start it is sent
again with the same Message-ID (at least once; a duplicate is recognisable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from monitor.core.assess import assess
from monitor.core.deadlines import NOC, Action, ActionKind
from monitor.core.model import PathKey
from monitor.core.sla import yen
from monitor.core.tracker import BlindEnded, BlindStarted, Incident
from monitor.notify.message import NoticeFacts, NoticeKind, render

if TYPE_CHECKING:
    from monitor.service.daemon import Daemon

log = logging.getLogger("slawatch.notify")

RETRY_AFTER = timedelta(seconds=30)
"""A notice not accepted by every recipient is tried again after this (the mailer itself
retries with backoff within one claim)."""

CLAIM_BUDGET = timedelta(minutes=5)
"""How long one delivery attempt (all relays, with backoff) may take before it is released."""

CONCURRENCY = 32
"""Notices delivered at once: a region going dark must not queue 1,000 notices one by one."""

INCIDENT_KINDS = frozenset({NoticeKind.OPENED, NoticeKind.REMINDER, NoticeKind.RECOVERED})
"""Kinds whose acceptance by a designated contact counts as the incident's notification."""


class Notifier:
    """Renders due actions into the outbox and delivers the outbox."""

    def __init__(self, *, journal: Any, transport: Any, metrics: Any) -> None:
        self.journal = journal
        self.transport = transport
        self.metrics = metrics
        self._daemon: Daemon | None = None
        self._pending: asyncio.Queue[list[tuple[NoticeFacts, str, tuple[str, ...]]]] = (
            asyncio.Queue()
        )
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._deliveries: set[asyncio.Task[None]] = set()

    @property
    def daemon(self) -> Daemon:
        assert self._daemon is not None, "Notifier.start() first"
        return self._daemon

    def start(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="outbox-writer"),
            asyncio.create_task(self._send_loop(), name="outbox-sender"),
        ]

    async def close(self) -> None:
        await self._pending.join()
        for task in [*self._tasks, *self._deliveries]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._deliveries, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.transport.close()

    # -- ledger actions -> rendered notices -------------------------------------------------
    def enqueue(self, actions: Sequence[Action], incident: Incident | None) -> None:
        """Render due actions (sync, from the daemon) and queue them for the outbox."""
        notices = []
        for action in actions:
            if action.kind is ActionKind.BREACH:
                self.metrics.breach(action.circuit)
                log.error(
                    "notification deadline missed: circuit %s incident %d",
                    action.circuit,
                    action.incident,
                )
                continue
            facts = self._facts(action, incident)
            if facts is not None and action.recipients:
                notices.append((facts, action.group, action.recipients))
        if notices:
            self._pending.put_nowait(notices)

    def blind(self, event: BlindStarted | BlindEnded) -> None:
        """Tell the NOC that the monitor lost (or regained) its sight (SLA.md §6.5)."""
        d = self.daemon
        if not d.settings.notify.noc:
            return
        since = event.since if isinstance(event, BlindStarted) else event.interval.start
        end = event.interval.end if isinstance(event, BlindEnded) else None
        facts = NoticeFacts(
            circuit="monitor",
            incident=0,
            now=event.at,
            timezone=d.settings.timezone,
            kind=NoticeKind.BLIND if end is None else NoticeKind.BLIND_ENDED,
            blind_since=since,
            end=end,
            group=NOC,
        )
        self._pending.put_nowait([(facts, NOC, d.settings.notify.noc)])

    def _facts(self, action: Action, closed: Incident | None) -> NoticeFacts | None:
        d = self.daemon
        incident = (
            closed
            if closed is not None and closed.id == action.incident
            else next(
                (i for i in d.tracker.incidents(action.circuit) if i.id == action.incident), None
            )
        )
        if incident is None or action.circuit not in d.terms:
            return None
        terms = d.terms[action.circuit]
        now = action.due if action.kind is ActionKind.RECOVERED else max(action.due, d.wall())
        a = assess(incident, terms, now=now, blind=d.tracker.blind_spans(), gaps=d.gaps)
        paths = tuple(
            (
                f"{p.router}/{p.demarc}",
                d.tracker.path_state(
                    PathKey(circuit=action.circuit, router=p.router, demarc=p.demarc)
                )[0].value,
            )
            for p in d.settings.circuit(action.circuit).paths
        )
        return NoticeFacts(
            circuit=action.circuit,
            incident=incident.id,
            kind=NoticeKind(action.kind.value),
            now=now,
            timezone=str(terms.tz),
            start=incident.start,
            detected=incident.detected,
            end=incident.end,
            duration_s=a.duration_s,
            counted_s=a.counted_s,
            tier=a.tier,
            credit=a.credit,
            credit_yen=yen(terms.fee_yen, a.credit),
            notify_deadline=a.notify_deadline,
            paths=paths,
            seq=action.seq,
            group=action.group,
        )

    async def _write_loop(self) -> None:
        while True:
            notices = await self._pending.get()
            try:
                for facts, group, recipients in notices:
                    await self._write(facts, group, recipients)
                self._wake.set()
            except Exception:
                log.exception("could not write notices to the outbox; retrying in 5 s")
                await asyncio.sleep(5)
                self._pending.put_nowait(notices)
            finally:
                self._pending.task_done()

    async def _write(self, facts: NoticeFacts, group: str, recipients: Sequence[str]) -> None:
        d = self.daemon
        langs = d.settings.languages()
        by_lang: dict[str, list[str]] = {}
        for r in recipients:
            by_lang.setdefault(langs.get(r, d.settings.notify.noc_lang), []).append(r)
        for lang, rcpts in sorted(by_lang.items()):
            msg = render(
                facts,
                lang="en" if lang == "en" else "ja",
                sender=d.settings.notify.from_,
                recipients=rcpts,
                origin=d.journal_id,
            )
            fresh = await self.journal.enqueue(
                message_id=msg["Message-ID"],
                incident_id=facts.incident or None,
                circuit=facts.circuit,
                kind=str(facts.kind),
                recipients=rcpts,
                body=bytes(msg),
                due_at=facts.now,
            )
            if fresh:
                log.info("queued %s notice %s to %s", facts.kind, msg["Message-ID"], group)

    # -- outbox -> relays ---------------------------------------------------------------------
    async def _send_loop(self) -> None:
        for item in await self.journal.in_flight():  # left in flight by a crash: send again
            log.warning("resending %s (in flight when the daemon stopped)", item.message_id)
            self._spawn(item)
        while True:
            items = await self.journal.claim_due(self.daemon.wall(), CONCURRENCY)
            for item in items:
                self._spawn(item)
            if not items:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):  # not wait_for: it can eat a cancel (3.11)
                        await self._wake.wait()

    def _spawn(self, item: Any) -> None:
        task = asyncio.create_task(self._deliver(item))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, item: Any) -> None:
        async with self._slots:
            msg = message_from_bytes(item.body, policy=policy.SMTP)
            assert isinstance(msg, EmailMessage)
            loop = asyncio.get_running_loop()
            report = await self.transport.deliver(
                msg, item.recipients, give_up_at=loop.time() + CLAIM_BUDGET.total_seconds()
            )
            done = all(r.accepted or r.permanent for r in report.results)
            await self.journal.record_delivery(
                item.id, report.results, "done" if done else "pending"
            )
            if not done:
                await self.journal.release(item.id, self.daemon.wall() + RETRY_AFTER)
                self._wake.set()
            self._accepted(item, report.results)

    def _accepted(self, item: Any, results: Sequence[Any]) -> None:
        if item.incident_id is None or NoticeKind(item.kind) not in INCIDENT_KINDS:
            return
        times = [r.at for r in results if r.accepted and r.at is not None]
        if not times:
            return
        at: datetime = min(times)
        d = self.daemon
        events = d.tracker.notified(item.circuit, at, item.incident_id)
        for e in events:
            incident = e.incident  # type: ignore[union-attr]
            self.metrics.notification_accepted((at - incident.detected).total_seconds())
        d.submit(events)
