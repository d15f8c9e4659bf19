"""The 30-minute guarantee through the real shell: journal, outbox, mailer, relays."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

from monitor.core.deadlines import ActionKind
from monitor.store import open_store
from monitor.store.records import OutboxState
from tests.notify.smtp_server import SmtpServer, free_port
from tests.service.harness import T0, Harness

MIN = timedelta(minutes=1)


async def test_no_relay_for_31_minutes_is_a_breach_with_noc_warned(tmp_path: Path) -> None:
    h = Harness(tmp_path, relay_ports=[free_port(), free_port()])  # both relays down
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        assert incident.detected == T0
        h.travel(20 * MIN + timedelta(seconds=1))  # 10 min before the deadline
        warned = await h.until(
            lambda: [
                i
                for i in d.store.sync.outbox.notices()
                if i.notice.kind == str(ActionKind.DEADLINE_AT_RISK)
            ]
        )
        assert warned[0].notice.recipients == ("noc-duty@noc.example",)
        left = await h.until(
            lambda: h.sample("slawatch_notification_deadline_seconds", circuit="c1")
        )
        assert 0 < left <= 600
        h.travel(11 * MIN)  # T0 + 31 min: no notice accepted
        await h.until(lambda: h.sample("slawatch_notification_breaches_total", circuit="c1"))
        figures = await h.backend.sla("2026-10")
        [row] = figures["circuits"]
        [inc] = figures["incidents"]
        assert inc["notify_breach"] is True and inc["notify_credit"] == "1/30"
        assert inc["notified"] is None
        # the outage itself is 31 min long (1/90) plus the breach (1/30)
        assert row["credit"] == "2/45" and row["credit_yen"] == 13_333
        assert await h.until(
            lambda: h.sample("slawatch_notification_attempts_total", result="connect-error")
        )
    finally:
        await h.stop()


async def test_notice_accepted_within_a_second_sets_the_notification_time(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            incident = await h.until(
                lambda: (i := d.sup.tracker.open_incident("c1")) and i.notified and i
            )
            assert incident.notified == T0  # the injected clock did not move: accepted "at once"
            [msg] = [r for r in relay.received if "fault@cust.example" in r.rcpt_tos]
            journal_id = d.journal_id
            assert msg.message_id.startswith(
                f"<slawatch.{journal_id}.c1.{incident.id}.opened.primary"
            )
        finally:
            await h.stop()


async def test_a_notice_in_flight_at_a_crash_is_sent_again_with_its_message_id(
    tmp_path: Path,
) -> None:
    """The relay took it, but the journal still said "in flight" when the daemon died: the
    next start sends it again, same Message-ID, and settles it."""
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            await h.until(lambda: relay.received)
            await h.until(  # its answer recorded: only the copy below is in flight
                lambda: all(i.state is OutboxState.DONE for i in d.store.sync.outbox.notices())
            )
        finally:
            await h.stop()
        first = relay.received[0]
        store = open_store(h.settings.journal)  # the crash: a copy of it back in flight
        try:
            [done] = [i for i in store.outbox.notices() if i.notice.message_id == first.message_id]
            # the same message as a row of its own (its bytes carry the same Message-ID)
            again = replace(done.notice, message_id="<again." + first.message_id[1:])
            assert store.outbox.put(again, T0) is not None
            [claimed] = store.outbox.claim_due(T0, 10)
            assert claimed.notice.message_id == again.message_id
        finally:
            store.close()
        h2 = Harness(tmp_path, relay_ports=[relay.port])
        h2.prober.ok = False
        d2 = await h2.start()
        try:
            await h2.until(
                lambda: len([r for r in relay.received if r.message_id == first.message_id]) == 2
            )
            await h2.until(
                lambda: [
                    i
                    for i in d2.store.sync.outbox.notices()
                    if i.notice.message_id == again.message_id and i.state is OutboxState.DONE
                ]
            )
        finally:
            await h2.stop()
        resent = [r for r in relay.received if r.message_id == first.message_id]
        assert len(resent) == 2  # the row in flight was sent once more, and only once
        assert message_from_bytes(resent[1].content)["Message-ID"] == first.message_id


async def test_a_new_journal_never_reuses_a_message_id(tmp_path: Path) -> None:
    """Incident numbers restart at 1 in a new journal (a fresh install, another host), so the
    journal's own id is part of every Message-ID: the customer's mail never shows two notices
    about different outages as one message, and a relay never drops one as a duplicate."""
    seen = []
    with SmtpServer() as relay:
        for n in (1, 2):
            h = Harness(tmp_path / f"host{n}", relay_ports=[relay.port])
            d = await h.start()
            try:
                h.prober.ok = False
                await h.until(lambda: (i := d.sup.tracker.open_incident("c1")) and i.notified)  # noqa: B023
                assert d.sup.tracker.open_incident("c1").id == 1  # type: ignore[union-attr]
            finally:
                await h.stop()
        seen = [r.message_id for r in relay.received if "fault@cust.example" in r.rcpt_tos]
    assert len(seen) == 2 and seen[0] != seen[1]
