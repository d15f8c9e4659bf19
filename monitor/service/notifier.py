"""Notices from the supervisor's :class:`Send` effects to the relays, through the durable outbox.

Normally: a notice is rendered (one message per language among its recipients), written to
the outbox through the journal's writer (after the facts it is about), claimed, delivered
(SMTP relays with fail-over, or the local Maildir), and every recipient's answer is written
back; the answers go to the supervisor as :class:`Delivered`, which makes the first acceptance
for a designated contact the incident's notification time. A notice in flight at a crash is
sent again, with the same Message-ID, at the next start.

When the journal refuses writes, a notice must not wait for the disk: once its outbox row has
been refused for ``FALLBACK_AFTER_S``, it is delivered from memory, and stored later together
with what became of it (``Outbox.record_sent``), so the acceptance time, the deadline's truth,
reaches the journal when the journal can take it. Only a crash while the journal is refusing
writes loses it, with everything else not yet written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Literal

from monitor.core.chain import EMPTY, ChainHead
from monitor.core.effects import Send
from monitor.core.inputs import Delivered
from monitor.core.notices import Delivery, NoticeFacts
from monitor.core.plan import NotifyPlan
from monitor.notify.message import render
from monitor.notify.transport import Transport
from monitor.service import tasks
from monitor.service.writer import Job, Writer
from monitor.store.base import Store
from monitor.store.records import Notice, OutboxItem

log = logging.getLogger("slawatch.notify")

RETRY_AFTER = timedelta(seconds=30)
"""A notice not settled for every recipient is tried again after this (the mailer itself
retries with backoff within one attempt)."""

CLAIM_BUDGET_S = 300.0
"""How long one delivery (all relays, with backoff) may take before it gives up, seconds."""

CONCURRENCY = 32
"""Notices delivered at once: a region going dark must not queue 1,000 notices one by one."""

FALLBACK_AFTER_S = 5.0
"""A notice whose outbox row the journal has refused for this long is sent from memory."""


@dataclass(slots=True)
class _Unstored:
    """A notice rendered but not yet in the outbox (its write is queued or being refused)."""

    notice: Notice
    """Rendered with the head this process knew (what a delivery from memory sends)."""
    stamp: Callable[[ChainHead], bytes]
    """The notice rendered with a given head: the outbox write renders it with the
    journal's head at that moment (Outbox.put)."""
    since: float
    """Monotonic seconds when it was rendered."""
    sending: bool = False
    """Being (or already) delivered from memory, because the journal refused it."""
    results: tuple[Delivery, ...] | None = None
    """What became of it, once delivered from memory."""
    item_id: int | None = None
    """Its outbox row, when the write got through while it was being delivered from memory."""


class Notifier:
    """Renders, stores and delivers notices; see the module docstring."""

    def __init__(
        self,
        *,
        writer: Writer[Store],
        transport: Transport,
        plan: NotifyPlan,
        origin: str,
        wall: Callable[[], datetime],
        on_delivered: Callable[[Delivered], None],
        head: Callable[[], ChainHead] = lambda: EMPTY,
    ) -> None:
        self._writer, self._transport, self.plan = writer, transport, plan
        self._origin, self._wall, self._on_delivered = origin, wall, on_delivered
        self._head = head
        self._unstored: dict[str, _Unstored] = {}
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="outbox-sender"),
            asyncio.create_task(self._fallback_loop(), name="outbox-fallback"),
        ]

    async def close(self) -> None:
        await tasks.stop([*self._tasks, *self._deliveries])
        with contextlib.suppress(Exception):
            await self._transport.close()

    # -- Send effects -> outbox ----------------------------------------------------------------
    def send(self, effect: Send) -> None:
        """Render a notice and queue it for the outbox (called from the effect executor)."""
        facts = effect.notice
        by_lang: dict[str, list[str]] = {}
        for r in effect.recipients:
            by_lang.setdefault(self.plan.lang(r), []).append(r)
        loop = asyncio.get_running_loop()
        for lang, rcpts in sorted(by_lang.items()):
            stamp = partial(self._render, facts, "en" if lang == "en" else "ja", tuple(rcpts))
            msg = stamp(self._head())
            notice = Notice(
                message_id=str(msg["Message-ID"]),
                incident_id=facts.incident or None,
                circuit=facts.circuit,
                kind=str(facts.kind),
                recipients=tuple(rcpts),
                body=bytes(msg),
                due_at=facts.now,
            )
            mid = notice.message_id
            if mid in self._unstored:
                continue
            self._unstored[mid] = _Unstored(
                notice=notice, stamp=partial(_as_bytes, stamp), since=loop.time()
            )
            self._writer.submit(Job(build=self._store(mid), done=partial(self._stored, mid)))

    def _render(
        self, facts: NoticeFacts, lang: Literal["ja", "en"], rcpts: tuple[str, ...], head: ChainHead
    ) -> EmailMessage:
        return render(facts, lang=lang, sender=self.plan.sender, recipients=rcpts,
                      origin=self._origin, head=head)  # fmt: skip

    def _store(self, mid: str) -> Callable[[], Callable[[Store], OutboxItem | bool | None]]:
        """The outbox write of a notice, as it stands at each attempt: a plain row, or, once
        it was delivered from memory, the row with its results."""

        def build() -> Callable[[Store], OutboxItem | bool | None]:
            u = self._unstored[mid]
            at, results = self._wall(), u.results
            if results is None:
                return lambda s: s.outbox.put(u.notice, at, u.stamp)
            return lambda s: s.outbox.record_sent(u.notice, at, results, at + RETRY_AFTER)

        return build

    def _stored(self, mid: str, outcome: OutboxItem | bool | None) -> None:
        """The outbox write got through: a row (``OutboxItem``), a row with its results
        (``bool``), or nothing (None: the Message-ID was stored already)."""
        u = self._unstored.get(mid)
        if isinstance(outcome, OutboxItem):
            log.info("queued %s notice %s", outcome.notice.kind, mid)
            if u is not None and u.sending:  # the memory path settles it
                u.item_id = outcome.id
                if u.results is not None:
                    self._settle(u)
                self._wake.set()
                return
        self._unstored.pop(mid, None)
        self._wake.set()

    def _settle(self, u: _Unstored) -> None:
        """A notice sent from memory whose row is now stored: its results, before any claim."""
        assert u.item_id is not None and u.results is not None
        self._finish(u.item_id, u.results, first=True)
        self._unstored.pop(u.notice.message_id, None)

    # -- outbox -> relays --------------------------------------------------------------------
    async def _send_loop(self) -> None:
        writer = self._writer
        for item in await writer.write(lambda s: s.outbox.in_flight()):
            log.warning("resending %s (in flight when the daemon stopped)", item.notice.message_id)
            self._spawn(item)
        while True:
            items = await writer.write(lambda s: s.outbox.claim_due(self._wall(), CONCURRENCY))
            for item in items:
                self._spawn(item)
            if not items:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):  # not wait_for: it can eat a cancel (3.11)
                        await self._wake.wait()

    def _spawn(self, item: OutboxItem) -> None:
        task = asyncio.create_task(self._deliver(item))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, item: OutboxItem) -> None:
        u = self._unstored.get(item.notice.message_id)
        if u is not None and u.sending:  # being sent from memory: that path settles the row
            return
        async with self._slots:
            results = await self._attempt(item.notice)
        self._finish(item.id, results)
        self._told(item.notice, results)

    async def _attempt(self, notice: Notice) -> tuple[Delivery, ...]:
        msg = message_from_bytes(notice.body, policy=policy.SMTP)
        assert isinstance(msg, EmailMessage)
        give_up = asyncio.get_running_loop().time() + CLAIM_BUDGET_S
        report = await self._transport.deliver(msg, notice.recipients, give_up_at=give_up)
        return tuple(report.results)

    def _finish(self, item_id: int, results: Sequence[Delivery], *, first: bool = False) -> None:
        retry = self._wall() + RETRY_AFTER
        self._writer.submit(
            Job(build=lambda: lambda s: s.outbox.finish(item_id, results, retry)), first=first
        )

    def _told(self, notice: Notice, results: Sequence[Delivery]) -> None:
        self._on_delivered(
            Delivered(incident=notice.incident_id, circuit=notice.circuit, kind=notice.kind,
                      results=tuple(results))
        )  # fmt: skip

    # -- the journal refuses writes: deliver from memory ------------------------------------
    async def _fallback_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            if self._writer.failing_since is None:
                continue
            for u in list(self._unstored.values()):
                if (
                    u.results is None
                    and not u.sending
                    and loop.time() - u.since >= FALLBACK_AFTER_S
                ):
                    u.sending = True
                    task = asyncio.create_task(self._from_memory(u))
                    self._deliveries.add(task)
                    task.add_done_callback(self._deliveries.discard)

    async def _from_memory(self, u: _Unstored) -> None:
        log.warning("the journal refuses writes: sending %s from memory", u.notice.message_id)
        async with self._slots:
            u.results = await self._attempt(u.notice)
        self._told(u.notice, u.results)
        if u.item_id is not None:  # its row got through meanwhile
            self._settle(u)


def _as_bytes(render: Callable[[ChainHead], EmailMessage], head: ChainHead) -> bytes:
    return bytes(render(head))
