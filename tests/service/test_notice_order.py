"""A contact group is told an incident's notices in the order they were owed, whatever their
due times and however many deliveries run at once: an escalation owed while blind, for an
outage whose end (backdated) came a second before it, reached the group as RECOVERED, then
OPENED (a chaos run saw it at the relay every time, 3-7 ms apart). The journal, the outbox,
the notifier and the relay are real."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.core.effects import Send
from monitor.core.errors import JournalError
from monitor.core.events import Incident, IncidentClosed, IncidentOpened
from monitor.core.notices import NoticeFacts, NoticeKind
from monitor.service import notifier as notifier_mod
from monitor.service.notifier import Notifier
from monitor.service.transports import build_transport
from monitor.service.writer import Writer
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.records import Notice
from monitor.store.sql import SqlStore
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import T0, Clock, Harness, until
from tests.service.harness import settings as harness_settings

MIN = timedelta(minutes=1)
BOSS = "boss@cust.example"


def notice(mid: str, kind: str, due: timedelta) -> Notice:
    body = (f"Message-ID: {mid}\r\nFrom: slawatch@noc.example\r\nTo: {BOSS}\r\n"
            f"X-Slawatch-Kind: {kind}\r\nSubject: {kind}\r\n\r\n{kind}\r\n")  # fmt: skip
    return Notice(message_id=mid, incident_id=1, circuit="c1", kind=kind, group="escalation",
                  recipients=(BOSS,), body=body.encode(), due_at=T0 + due)  # fmt: skip


def journal(h: Harness, between: tuple[Notice, ...] = ()) -> None:
    """Incident 1, closed, and its escalation group's OPENED then RECOVERED (due a second
    earlier: backdated, as a blind spell's release leaves them), with ``between`` stored
    between the two."""
    store = open_store(h.settings.journal)
    try:
        i = Incident(id=1, circuit="c1", start=T0, detected=T0, end=T0 + 15 * MIN - MIN / 60)
        store.record([IncidentOpened(incident=i), IncidentClosed(incident=i)])
        opened = notice("<o@x>", "opened", 15 * MIN)
        recovered = notice("<r@x>", "recovered", 15 * MIN - MIN / 60)
        for n in (opened, *between, recovered):
            store.outbox.put(n, T0 + 16 * MIN)
    finally:
        store.close()


async def test_a_group_gets_the_opening_before_the_recovery_due_earlier(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        relay.script.stall_data_s = 0.2  # long enough for two deliveries to overlap
        h = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 20 * MIN))
        journal(h)  # as the blind spell left them: owed in this order, the second due earlier
        await h.start()
        try:
            await h.until(lambda: len([r for r in relay.received if BOSS in r.rcpt_tos]) >= 2)
        finally:
            await h.stop()
    assert [r.message_id for r in relay.received if BOSS in r.rcpt_tos] == ["<o@x>", "<r@x>"]


async def test_the_order_holds_across_claim_batches(tmp_path: Path) -> None:
    """A region going dark: 31 other incidents' notices stored between them. Claimed by due
    time, 32 at a time, the recovery (due earlier) went in the first batch and the opening
    in the next, which then waited for it (a review found it). Claims now follow the order
    stored."""
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 20 * MIN))
        others = tuple(  # other circuits' openings, owed in the same moment
            replace(notice(f"<f{n}@x>", "opened", 15 * MIN - MIN / 120),
                    incident_id=100 + n, group="primary")
            for n in range(31)
        )  # fmt: skip
        journal(h, between=others)
        await h.start()
        try:
            await h.until(lambda: len([r for r in relay.received if "<r@x>" in r.message_id]))
        finally:
            await h.stop()
    to_boss = [r.message_id for r in relay.received if r.message_id in ("<o@x>", "<r@x>")]
    assert to_boss == ["<o@x>", "<r@x>"]


class Refusing:
    """The journal's runner, refusing every write while ``failing`` (a full disk)."""

    def __init__(self, inner: AsyncStore[SqlStore]) -> None:
        self.inner, self.failing = inner, False

    async def run(self, call: Callable[[SqlStore], Any]) -> Any:
        if self.failing:
            raise JournalError("disk full (scripted)")
        return await self.inner.run(call)


def facts(kind: NoticeKind) -> NoticeFacts:
    start = T0 + 10 * MIN
    end = T0 + 15 * MIN if kind is NoticeKind.RECOVERED else None
    return NoticeFacts(circuit="c1", incident=1, kind=kind, now=T0 + 20 * MIN, start=start,
                       detected=start, end=end, group="escalation")  # fmt: skip


async def test_notices_sent_from_memory_keep_the_order_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal refuses writes, so notices go out from memory: all at once, outside the
    order, before (a review found it; here the opening's data is 0.3 s slower at the relay)."""
    monkeypatch.setattr(notifier_mod, "FALLBACK_AFTER_S", 0.0)
    clock = Clock(T0 + 20 * MIN)
    with SmtpServer() as relay:
        settings = harness_settings(tmp_path, relay_ports=[relay.port])
        store = open_store(settings.journal)
        assert isinstance(store, SqlStore)
        journal = AsyncStore(store, ThreadPoolExecutor(max_workers=1))
        refusing = Refusing(journal)
        writer: Writer[Any] = Writer(refusing)
        notifier = Notifier(writer=writer, transport=build_transport(settings, clock),
                            plan=settings.plan().notify, origin="j", wall=clock,
                            on_delivered=lambda d: None)  # fmt: skip
        runner = asyncio.create_task(writer.run())
        refusing.failing = True
        notifier.start()
        try:
            notifier.send(Send(notice=facts(NoticeKind.OPENED), recipients=(BOSS,)))
            notifier.send(Send(notice=facts(NoticeKind.RECOVERED), recipients=(BOSS,)))
            await until(lambda: len(notifier._unstored) == 2)
            opened, recovered = list(notifier._unstored)
            assert ".opened." in opened and ".recovered." in recovered
            relay.script.stall_for[opened] = 0.3
            await until(lambda: len(relay.received) >= 2)
        finally:
            refusing.failing = False
            await notifier.close()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await journal.close()
    assert [r.message_id for r in relay.received] == [opened, recovered]


async def test_a_stop_begins_no_delivery_and_the_next_start_sends_it(tmp_path: Path) -> None:
    """A stop while the group's opening is in the relay's data: the opening finishes and is
    written down; the recovery waiting behind it is not begun (it could be cut mid-send at
    the grace's end, a second copy at the next start); the next start sends it."""
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 20 * MIN))
        journal(h)
        relay.script.stall_for["<o@x>"] = 0.3  # under the harness relay's 0.5 s timeout
        await h.start()
        try:
            await h.until(lambda: relay.handler.data_commands)
        finally:
            await h.stop()
        assert [r.message_id for r in relay.received if BOSS in r.rcpt_tos] == ["<o@x>"]
        again = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 21 * MIN))
        await again.start()
        try:
            await again.until(lambda: any(r.message_id == "<r@x>" for r in relay.received))
        finally:
            await again.stop()
    assert [r.message_id for r in relay.received if BOSS in r.rcpt_tos] == ["<o@x>", "<r@x>"]
