"""The 30-minute guarantee through the real shell: journal, outbox, mailer, relays."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

from monitor.core.deadlines import ActionKind
from monitor.store.journal import Journal
from tests.notify.smtp_server import SmtpServer, free_port
from tests.service.harness import T0, Harness

MIN = timedelta(minutes=1)


async def test_no_relay_for_31_minutes_is_a_breach_with_noc_warned(tmp_path: Path) -> None:
    h = Harness(tmp_path, relay_ports=[free_port(), free_port()])  # both relays down
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.tracker.open_incident("c1"))
        assert incident.detected == T0
        h.travel(20 * MIN + timedelta(seconds=1))  # 10 min before the deadline
        warned = await h.until(
            lambda: d.journal.sync.run(
                lambda db: db.execute(
                    "SELECT recipients FROM outbox WHERE kind = ?",
                    (str(ActionKind.DEADLINE_AT_RISK),),
                ).fetchall(),
                write=False,
            )
        )
        assert "noc-duty@noc.example" in warned[0][0]
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
        assert h.sample("slawatch_notification_attempts_total", result="connect-error")
    finally:
        await h.stop()


async def test_notice_accepted_within_a_second_sets_the_notification_time(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            incident = await h.until(
                lambda: (i := d.tracker.open_incident("c1")) and i.notified and i
            )
            assert incident.notified == T0  # the injected clock did not move: accepted "at once"
            [msg] = [r for r in relay.received if "fault@cust.example" in r.rcpt_tos]
            journal_id = await d.journal.journal_id()
            assert msg.message_id.startswith(
                f"<slawatch.{journal_id}.c1.{incident.id}.opened.primary"
            )
        finally:
            await h.stop()


async def test_crash_between_sent_and_recorded_resends_once_same_message_id(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        await h.start()
        try:
            h.prober.ok = False
            await h.until(lambda: relay.received)
        finally:
            await h.stop()
        first = relay.received[0]
        # simulate the crash: the relay took it, but the journal still says "in flight"
        j = Journal.open(h.settings.journal)
        j.run(
            lambda db: db.execute(
                "UPDATE outbox SET state = 'in_flight' WHERE message_id = ?", (first.message_id,)
            )
        )
        j.close()
        h2 = Harness(tmp_path, relay_ports=[relay.port])
        h2.prober.ok = False
        d2 = await h2.start()
        try:
            await h2.until(
                lambda: len([r for r in relay.received if r.message_id == first.message_id]) == 2
            )
            state = await h2.until(
                lambda: d2.journal.sync.run(
                    lambda db: (
                        db.execute(
                            "SELECT state FROM outbox WHERE message_id = ?", (first.message_id,)
                        ).fetchone()[0]
                        == "done"
                        and "done"
                    ),
                    write=False,
                )
            )
            assert state == "done"
        finally:
            await h2.stop()
        resent = [r for r in relay.received if r.message_id == first.message_id]
        assert len(resent) == 2  # at least once; the duplicate carries the same Message-ID
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
                await h.until(lambda: (i := d.tracker.open_incident("c1")) and i.notified)  # noqa: B023
                assert d.tracker.open_incident("c1").id == 1  # type: ignore[union-attr]
            finally:
                await h.stop()
        seen = [r.message_id for r in relay.received if "fault@cust.example" in r.rcpt_tos]
    assert len(seen) == 2 and seen[0] != seen[1]
