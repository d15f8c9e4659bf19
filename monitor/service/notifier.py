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
import math
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Any, Literal, Protocol

from monitor.core.chain import EMPTY, ChainHead
from monitor.core.effects import Send
from monitor.core.errors import FencedError, InputError
from monitor.core.inputs import Delivered
from monitor.core.notices import Delivery, NoticeFacts
from monitor.core.plan import NotifyPlan
from monitor.notify.message import render
from monitor.notify.transport import Transport
from monitor.service import tasks
from monitor.service.slots import Slots, rank
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

STOP_GRACE_S = 5.0
"""At a stop, deliveries under way get this long (seconds) to finish and be written down
before they are cut: a notice cut mid-delivery is sent again (same Message-ID) at the next
start, a second copy in the mailbox of a customer whose relay had taken it."""

FALLBACK_AFTER_S = 5.0
"""A notice whose outbox row the journal has refused for this long is sent from memory."""

RENDERED_KEPT = 2 * CONCURRENCY
"""Rendered messages kept for their delivery, at most: a message is ~130 KB and ~600 objects
for the garbage collector. A region recovering at once (a bench of 1,000 circuits behind a
slow relay) held every waiting notice's, 2,000 and more: RSS grew by ~230 MB, and each full
collection walked 1.4 million objects, holding the GIL (the event loop with it) for 1.5-2 s,
stalls the watchdog recorded as unmonitored gaps. A notice beyond these is delivered from its
stored bytes, parsed when its turn comes (~3 ms; the relay takes hundreds of times longer)."""


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


class Gate(Protocol):
    """Whether this node may send, and under which lease epoch it claims (None: it may not
    claim; a single node always may, under epoch 0)."""

    @property
    def epoch(self) -> int | None: ...
    def may_send(self) -> bool: ...
    def left(self) -> float:
        """Seconds this node may go on sending (0: none; inf: no lease to keep)."""
        ...

    def fenced(self) -> None: ...


class Alone:
    """The gate of the only NOC host: always open, epoch 0 (no lease)."""

    epoch: int | None = 0

    def may_send(self) -> bool:
        return True

    def left(self) -> float:
        return math.inf

    def fenced(self) -> None:  # a single node's claims are never fenced (epoch 0)
        raise AssertionError("epoch 0 is never fenced")


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
        gate: Gate | None = None,
        head: Callable[[], ChainHead] = lambda: EMPTY,
    ) -> None:
        self._writer, self.transport, self.plan = writer, transport, plan
        self._gate: Gate = gate or Alone()
        self._fenced = gate is not None
        """Two NOC hosts: a notice is stored only under this node's live lease epoch."""
        self._claimed_epoch: int | None = None
        self._origin, self._wall, self._on_delivered = origin, wall, on_delivered
        self._head = head
        self._unstored: dict[str, _Unstored] = {}
        self._rendered: dict[str, tuple[EmailMessage, bytes]] = {}
        """Messages rendered here and not delivered yet, with their bytes: parsing the stored
        bytes back costs more than the delivery's own work (a restart parses them). Used only
        for a row whose body is those bytes: the same Message-ID rendered again (a ledger
        rebuilt at a start or a new lead offers a notice the journal holds already) carries
        another head, and what goes out is always the row the journal chained. At most
        :data:`RENDERED_KEPT` (``_keep``): the earliest, which go out first."""
        self._wake = asyncio.Event()
        self._to_render: deque[Send] = deque()
        self._rendering = asyncio.Event()
        self._slots = Slots(CONCURRENCY)
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()
        self._closing = False
        self._after: dict[tuple[int, str | None], asyncio.Task[None]] = {}
        """The latest delivery of each incident's notices to a contact group: the next one
        waits for it, so a group is told in the order the notices were stored (an OPENED
        before its RECOVERED), not in whatever order concurrent deliveries finish."""

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._render_loop(), name="outbox-renderer"),
            asyncio.create_task(self._send_loop(), name="outbox-sender"),
            asyncio.create_task(self._fallback_loop(), name="outbox-fallback"),
        ]

    async def close(self) -> None:
        """Stop claiming and rendering; put what is still waiting to be rendered into the
        outbox (the daemon's stop then drains the journal's writer: sent at the next start,
        not lost); let the deliveries under way finish (up to :data:`STOP_GRACE_S`; one that
        has not begun does not begin now), then cut the rest."""
        self._closing = True
        await tasks.stop(self._tasks)
        self._render_queued()
        if self._deliveries:
            await asyncio.wait(set(self._deliveries), timeout=STOP_GRACE_S)
        await tasks.stop(list(self._deliveries))
        self._render_queued()  # what the last answers led to (a notice owed by them)
        with contextlib.suppress(Exception):
            await self.transport.close()

    def _render_queued(self) -> None:
        while self._to_render:
            self._render_effect(self._to_render.popleft())

    # -- Send effects -> outbox ----------------------------------------------------------------
    def send(self, effect: Send) -> None:
        """Take a notice to render and store (called from the effect executor: it must not
        hold the event loop, so rendering, some milliseconds a message, is the render loop's)."""
        self._to_render.append(effect)
        self._rendering.set()

    async def _render_loop(self) -> None:
        while True:
            if not self._to_render:
                self._rendering.clear()
                await self._rendering.wait()
                continue
            self._render_effect(self._to_render.popleft())
            await asyncio.sleep(0)  # a region going dark: probes go on between notices

    def _render_effect(self, effect: Send) -> None:
        """Render a notice (one message per language) and queue it for the outbox."""
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
                group=facts.group,
                recipients=tuple(rcpts),
                body=bytes(msg),
                due_at=facts.now,
            )
            mid = notice.message_id
            if mid in self._unstored:
                continue
            self._unstored[mid] = _Unstored(
                notice=notice, stamp=partial(self._stamped, mid, stamp), since=loop.time()
            )
            self._keep(mid, msg, notice.body)
            stored = self._writer.submit(
                Job(build=self._store(mid), done=partial(self._stored, mid))
            )
            stored.add_done_callback(partial(self._refused, mid))

    def _stamped(
        self, mid: str, render: Callable[[ChainHead], EmailMessage], head: ChainHead
    ) -> bytes:
        """The notice rendered with ``head`` inside its outbox write (the writer's thread):
        the message kept for its delivery is the one stored, head included. Once it is being
        sent from memory, the row stores what is being sent."""
        u = self._unstored.get(mid)
        if u is not None and u.sending:
            return u.notice.body
        msg = render(head)
        data = bytes(msg)
        self._keep(mid, msg, data)
        return data

    def _keep(self, mid: str, msg: EmailMessage, data: bytes) -> None:
        """Keep ``msg`` for its delivery if it replaces a kept one or there is room (see
        :data:`RENDERED_KEPT`); else its delivery parses the stored bytes. Called on the loop
        and in the writer's thread: a dict's single operations are atomic, and a race can
        only keep one more or one fewer."""
        rendered = self._rendered
        if mid in rendered or len(rendered) < RENDERED_KEPT:
            rendered[mid] = (msg, data)

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
                epoch = self._gate.epoch
                fence = None if not self._fenced else -1 if epoch is None else epoch
                return lambda s: s.outbox.put(u.notice, at, u.stamp, epoch=fence)
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
        if outcome is None:  # the journal holds this Message-ID already: that row goes out
            self._rendered.pop(mid, None)
        self._unstored.pop(mid, None)
        self._wake.set()

    def _refused(self, mid: str, stored: asyncio.Future[object]) -> None:
        """The outbox write failed for good: a notice decided under a lease this node no
        longer holds (two NOC hosts) is dropped here; the leader owes what is owed."""
        if stored.cancelled() or not isinstance(stored.exception(), FencedError):
            return
        log.warning("notice %s not stored: this node no longer leads", mid)
        self._unstored.pop(mid, None)
        self._rendered.pop(mid, None)
        self._gate.fenced()

    def _settle(self, u: _Unstored) -> None:
        """A notice sent from memory whose row is now stored: its results, before any claim."""
        assert u.item_id is not None and u.results is not None
        self._finish(u.item_id, u.results, first=True)
        self._unstored.pop(u.notice.message_id, None)

    # -- outbox -> relays --------------------------------------------------------------------
    async def _send_loop(self) -> None:
        while True:
            # Standing by: whenever this node leads again, even under the same epoch (its
            # own lease lapsed and it took it back), what it left in flight is claimed again.
            if self._gate.may_send():
                items = await self._claim()
            else:
                items, self._claimed_epoch = [], None
            for item in sorted(items, key=lambda i: i.id):  # as stored: the order owed
                self._spawn(item)
            if not items:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):  # not wait_for: it can eat a cancel (3.11)
                        await self._wake.wait()

    async def _claim(self) -> list[OutboxItem]:
        """What is due, claimed under our epoch; first, under a new epoch (a start, a new
        lead), what was left in flight: sent again as the same rows, same Message-IDs."""
        epoch, now = self._gate.epoch, self._wall()
        if epoch is None:
            return []
        orphans: list[OutboxItem] = []
        try:
            if epoch != self._claimed_epoch:
                orphans = await self._writer.submit(
                    Job(build=lambda: lambda s: s.outbox.claim_orphans(epoch), alone=True)
                )
                self._claimed_epoch = epoch
                for item in orphans:  # one still being tried here under the old epoch stops
                    # at its next try, and this claim's delivery comes after it (its group's
                    # chain): the row is this claim's to finish
                    log.warning("resending %s (in flight when it was left)", item.notice.message_id)
            due = await self._writer.submit(
                Job(build=lambda: lambda s: s.outbox.claim_due(now, CONCURRENCY, epoch), alone=True)
            )
        except FencedError as exc:
            log.error("notice claims refused: %s", exc)
            self._gate.fenced()
            return []
        return orphans + due

    def _spawn(self, item: OutboxItem) -> None:
        self._chained(item.notice, lambda before: self._deliver(item, before))

    def _chained(
        self,
        notice: Notice,
        deliver: Callable[[asyncio.Task[None] | None], Coroutine[Any, Any, None]],
    ) -> asyncio.Task[None]:
        """A delivery task, after the one before it of the same incident and contact group
        (``self._after``), counted among the deliveries a stop waits for."""
        key = None if notice.incident_id is None else (notice.incident_id, notice.group)
        task = asyncio.create_task(deliver(None if key is None else self._after.get(key)))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        if key is not None:
            self._after[key] = task
            task.add_done_callback(partial(self._done_after, key))
        return task

    def _done_after(self, key: tuple[int, str | None], task: asyncio.Task[None]) -> None:
        if self._after.get(key) is task:  # else a later notice of the group waits on another
            del self._after[key]

    async def _deliver(self, item: OutboxItem, before: asyncio.Task[None] | None = None) -> None:
        await _after(before)
        u = self._unstored.get(item.notice.message_id)
        if u is not None and u.sending:  # being sent from memory: that path settles the row
            return
        async with self._slots.held(rank(item.notice)):
            if self._closing:  # a stop began while it waited: not begun, so never cut mid-send
                return  # (in flight: the next start sends it)
            if not self._gate.may_send() or self._gate.epoch != item.epoch:  # the lead ended
                self._claimed_epoch = None  # while it waited: the next leader, this node
                return  # again or not, finds it in flight and sends it, same Message-ID
            try:
                results = await self._attempt(item.notice, item.epoch)
            except InputError as exc:  # a stored row no relay could ever take: a damaged
                results = self._unsendable(item.notice, exc)  # journal, or a bug of ours
        self._finish(item.id, results, epoch=item.epoch)
        self._told(item.notice, results)

    def _unsendable(self, notice: Notice, exc: InputError) -> tuple[Delivery, ...]:
        """Every recipient refused for good, and the operator told why: retrying the row
        at every start would fail the same way (and the task died with it, unseen)."""
        log.error("notice %s (incident %s, %s) cannot be sent and is given up: %s",
                  notice.message_id, notice.incident_id, notice.kind, exc)  # fmt: skip
        reply = f"not sent: {exc}"
        return tuple(
            Delivery(
                recipient=r,
                relay=None,
                accepted=False,
                at=None,
                code=None,
                reply=reply,
                permanent=True,
            )
            for r in notice.recipients
        )

    async def _attempt(self, notice: Notice, epoch: int) -> tuple[Delivery, ...]:
        """Deliver ``notice`` while this node leads under ``epoch``, its claim's: a lead
        lost and taken again is another claim's (a stale one must not go on sending)."""
        kept = self._rendered.pop(notice.message_id, None)
        msg = kept[0] if kept is not None and kept[1] == notice.body else None
        if msg is None:  # stored by an earlier run (or node), rendered again since, or tried
            parsed = message_from_bytes(notice.body, policy=policy.SMTP)
            assert isinstance(parsed, EmailMessage)
            msg = parsed
        give_up = asyncio.get_running_loop().time() + CLAIM_BUDGET_S
        report = await self.transport.deliver(
            msg,
            notice.recipients,
            give_up_at=give_up,
            left=partial(self._left, epoch),
        )
        return tuple(report.results)

    def _left(self, epoch: int) -> float:
        """Seconds this node may go on sending under ``epoch``: none once it is not current."""
        return self._gate.left() if self._gate.epoch == epoch else 0.0

    def _finish(
        self,
        item_id: int,
        results: Sequence[Delivery],
        *,
        first: bool = False,
        epoch: int | None = None,
    ) -> None:
        """Write down what became of a notice; ``epoch``: its claim's (the state is left to a
        newer claim: Outbox.finish)."""
        retry = self._wall() + RETRY_AFTER
        self._writer.submit(
            Job(build=lambda: lambda s: s.outbox.finish(item_id, results, retry, epoch)),
            first=first,
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
            if self._writer.failing_since is None or self._gate.epoch != 0:
                continue  # with two NOC hosts, only a claim the journal took may be sent
            for u in list(self._unstored.values()):
                if (
                    u.results is None
                    and not u.sending
                    and loop.time() - u.since >= FALLBACK_AFTER_S
                ):
                    u.sending = True
                    self._chained(u.notice, partial(self._from_memory, u))

    async def _from_memory(self, u: _Unstored, before: asyncio.Task[None] | None = None) -> None:
        await _after(before)
        async with self._slots.held(rank(u.notice)):
            if self._closing:  # as in _deliver
                u.sending = False
                return
            log.warning("the journal refuses writes: sending %s from memory", u.notice.message_id)
            u.results = await self._attempt(u.notice, 0)
        self._told(u.notice, u.results)
        if u.item_id is not None:  # its row got through meanwhile
            self._settle(u)


async def _after(before: asyncio.Task[None] | None) -> None:
    """Wait for the group's earlier notice (``_chained``), however it ends."""
    if before is not None and not before.done():
        await asyncio.wait([before])
