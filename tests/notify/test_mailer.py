"""SMTP delivery against real aiosmtpd relays on 127.0.0.1: acceptance times, retries,
fail-over, per-recipient refusals, stalls, TLS and AUTH."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from monitor.core.errors import InputError
from monitor.core.notices import NoticeFacts, NoticeKind
from monitor.notify.mailer import Backoff, Mailer, Relay, TlsMode
from monitor.notify.message import render
from monitor.notify.transport import AttemptLog, Outcome
from tests.notify.smtp_server import HOST, Cert, SilentPort, SmtpServer, free_port

FAST = Backoff(base_s=0.05, cap_s=0.2, jitter=0.5)
A, B, C = "fault@cust.example", "boss@cust.example", "gone@cust.example"
T0 = datetime(2026, 10, 4, 18, 12, tzinfo=UTC)


def notice(incident: int = 12) -> EmailMessage:
    facts = NoticeFacts(
        circuit="er-tokyo-1", incident=incident, kind=NoticeKind.OPENED, now=T0,
        start=T0 - timedelta(minutes=2), detected=T0, group="primary",
    )  # fmt: skip
    return render(facts, lang="en", sender="slawatch@carrier.example", recipients=[A, B])


def plain(port: int, name: str, timeout_s: float = 1.0) -> Relay:
    return Relay(host=HOST, port=port, name=name, timeout_s=timeout_s)


def outcomes(attempts: tuple[AttemptLog, ...]) -> list[tuple[str, str]]:
    return [(a.relay, str(a.outcome)) for a in attempts]


async def test_accepted_with_the_time_of_the_relays_reply(relay: SmtpServer) -> None:
    msg = notice()
    before = datetime.now(UTC)
    report = await Mailer([plain(relay.port, "r1")]).deliver(msg, [A, B])
    after = datetime.now(UTC)
    assert [(r.recipient, r.accepted, r.relay, r.code) for r in report.results] == [
        (A, True, "r1", 250),
        (B, True, "r1", 250),
    ]
    for r in report.results:
        assert r.at is not None and before <= r.at <= after and r.at.tzinfo is UTC
        assert r.reply.startswith("2.0.0 queued as")
    assert report.message_id == msg["Message-ID"] == relay.received[0].message_id
    assert [(m.rcpt_tos, m.mail_from) for m in relay.received] == [
        ((A, B), "slawatch@carrier.example")
    ]
    assert outcomes(report.attempts) == [("r1", "accepted")]


async def test_relay_down_at_first_then_up_is_used_after_retries(
    relay_factory: Callable[..., SmtpServer],
) -> None:
    import asyncio

    server = relay_factory()  # made, not started: its port has nothing listening yet
    starter = asyncio.get_running_loop().call_later(0.3, server.start)
    t0 = time.monotonic()
    try:
        report = await Mailer([plain(server.port, "r1")], backoff=FAST).deliver(
            notice(), [A], give_up_at=t0 + 5.0
        )
    finally:
        starter.cancel()
    assert report.results[0].accepted
    assert time.monotonic() - t0 < 5.0
    kinds = [a.outcome for a in report.attempts]
    assert kinds[-1] is Outcome.ACCEPTED
    assert len(kinds) >= 2 and set(kinds[:-1]) == {Outcome.CONNECT_ERROR}
    assert len(server.received) == 1


async def test_primary_down_for_good_fails_over_to_the_next_relay(relay: SmtpServer) -> None:
    relays = [plain(free_port(), "primary"), plain(relay.port, "secondary")]
    report = await Mailer(relays).deliver(notice(), [A, B])
    assert {(r.accepted, r.relay) for r in report.results} == {(True, "secondary")}
    assert outcomes(report.attempts) == [("primary", "connect-error"), ("secondary", "accepted")]


async def test_4xx_twice_then_250(relay: SmtpServer) -> None:
    relay.script.tempfail_data = 2
    report = await Mailer([plain(relay.port, "r1")], backoff=FAST).deliver(
        notice(), [A, B], give_up_at=time.monotonic() + 5.0
    )
    assert all(r.accepted for r in report.results)
    assert [str(a.outcome) for a in report.attempts] == ["4xx", "4xx", "accepted"]
    assert report.attempts[0].code == 451
    assert len(relay.received) == 1


async def test_no_try_once_the_sender_may_no_longer_send(relay: SmtpServer) -> None:
    """A leader whose lease lapses mid-retry: ``left`` is asked before each try, and the
    recipients left are pending (the next leader sends them, same Message-ID)."""
    relay.script.tempfail_data = 2
    asked: list[float] = []

    def left() -> float:
        asked.append(60.0 if len(asked) < 2 else 0.0)  # the lease lapses after two tries
        return asked[-1]

    report = await Mailer([plain(relay.port, "r1")], backoff=FAST).deliver(
        notice(), [A, B], give_up_at=time.monotonic() + 5.0, left=left
    )
    assert [str(a.outcome) for a in report.attempts] == ["4xx", "4xx"]
    assert asked == [60.0, 60.0, 0.0] and relay.received == []
    assert all(r.pending and not r.permanent for r in report.results)


async def test_5xx_for_one_recipient_while_the_others_are_accepted(relay: SmtpServer) -> None:
    relay.script.reject_rcpt = {C}
    report = await Mailer([plain(relay.port, "r1")], backoff=FAST).deliver(
        notice(), [A, C, B], give_up_at=time.monotonic() + 5.0
    )
    by = {r.recipient: r for r in report.results}
    assert by[A].accepted and by[B].accepted
    assert (by[C].accepted, by[C].permanent, by[C].code, by[C].at) == (False, True, 550, None)
    assert "no such mailbox" in by[C].reply
    assert len(report.attempts) == 1  # nothing left to retry
    assert [m.rcpt_tos for m in relay.received] == [(A, B)]


async def test_4xx_for_one_recipient_leaves_it_pending(relay: SmtpServer) -> None:
    relay.script.defer_rcpt = {C}
    report = await Mailer([plain(relay.port, "r1")]).deliver(notice(), [A, C])
    by = {r.recipient: r for r in report.results}
    assert by[A].accepted
    assert (by[C].pending, by[C].code, by[C].relay) == (True, 450, "r1")


async def test_every_recipient_refused_for_good_is_not_retried(relay: SmtpServer) -> None:
    relay.script.reject_rcpt = {A, B}
    report = await Mailer([plain(relay.port, "r1")], backoff=FAST).deliver(
        notice(), [A, B], give_up_at=time.monotonic() + 5.0
    )
    assert [(r.permanent, r.code) for r in report.results] == [(True, 550), (True, 550)]
    assert outcomes(report.attempts) == [("r1", "5xx")]
    assert relay.received == []


async def test_message_refused_for_good_tries_the_next_relay(
    relay_factory: Callable[..., SmtpServer],
) -> None:
    strict, lenient = relay_factory(), relay_factory()
    strict.start()
    lenient.start()
    strict.script.reject_data = "554 5.6.0 content refused"
    relays = [plain(strict.port, "strict"), plain(lenient.port, "lenient")]
    report = await Mailer(relays).deliver(notice(), [A])
    assert report.results[0].relay == "lenient" and report.results[0].accepted
    assert outcomes(report.attempts) == [("strict", "5xx"), ("lenient", "accepted")]
    assert report.attempts[0].code == 554


async def test_message_refused_by_every_relay_fails_for_good_without_retry(
    relay: SmtpServer,
) -> None:
    relay.script.reject_mail = "553 5.7.1 sender not allowed"
    report = await Mailer([plain(relay.port, "r1")], backoff=FAST).deliver(
        notice(), [A, B], give_up_at=time.monotonic() + 5.0
    )
    assert [(r.permanent, r.code) for r in report.results] == [(True, 553), (True, 553)]
    assert len(report.attempts) == 1


async def test_relay_that_stalls_after_connect_times_out_and_the_next_is_used(
    relay: SmtpServer,
) -> None:
    with SilentPort() as silent:
        relays = [plain(silent.port, "silent", timeout_s=0.3), plain(relay.port, "r2")]
        report = await Mailer(relays).deliver(notice(), [A])
    assert report.results[0].relay == "r2" and report.results[0].accepted
    assert outcomes(report.attempts) == [("silent", "timeout"), ("r2", "accepted")]
    assert 0.25 <= report.attempts[0].elapsed_s < 1.0


async def test_relay_that_stalls_after_the_data_times_out_and_the_next_is_used(
    relay_factory: Callable[..., SmtpServer],
) -> None:
    slow, fast = relay_factory(), relay_factory()
    slow.start()
    fast.start()
    slow.script.stall_data_s = 5.0
    relays = [plain(slow.port, "slow", timeout_s=0.3), plain(fast.port, "fast")]
    report = await Mailer(relays).deliver(notice(), [A])
    assert outcomes(report.attempts) == [("slow", "timeout"), ("fast", "accepted")]
    assert "during send" in report.attempts[0].reply
    assert [m.message_id for m in fast.received] == [report.message_id]


async def test_retries_stop_at_give_up_and_leave_recipients_pending() -> None:
    t0 = time.monotonic()
    report = await Mailer([plain(free_port(), "down")], backoff=FAST).deliver(
        notice(), [A], give_up_at=t0 + 0.5
    )
    assert time.monotonic() - t0 < 0.8
    r = report.results[0]
    assert (r.accepted, r.permanent, r.pending, r.relay) == (False, False, True, "down")
    assert len(report.attempts) >= 3
    assert {a.outcome for a in report.attempts} == {Outcome.CONNECT_ERROR}


async def test_backoff_is_exponential_capped_and_uses_the_injected_clock() -> None:
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    mailer = Mailer(
        [plain(free_port(), "down")],
        monotonic=lambda: now[0],
        sleep=sleep,
        backoff=Backoff(base_s=1.0, cap_s=8.0, jitter=0.5),
        rng=lambda: 0.0,  # no jitter drawn: the full delay
    )
    report = await mailer.deliver(notice(), [A], give_up_at=1030.0)
    assert slept == [1.0, 2.0, 4.0, 8.0, 8.0]  # the next 8 would pass 1030
    assert len(report.attempts) == len(slept) + 1
    assert Backoff(base_s=1.0, cap_s=8.0, jitter=0.5).delay(2, lambda: 0.999) == pytest.approx(
        2.002
    )


async def test_on_attempt_sees_each_attempt(relay: SmtpServer) -> None:
    seen: list[AttemptLog] = []
    relays = [plain(free_port(), "down"), plain(relay.port, "up")]
    report = await Mailer(relays, on_attempt=seen.append).deliver(notice(), [A])
    assert tuple(seen) == report.attempts


async def test_try_each_sends_through_every_relay(
    relay_factory: Callable[..., SmtpServer],
) -> None:
    one, two = relay_factory(), relay_factory()
    one.start()
    two.start()
    relays = [plain(one.port, "one"), plain(free_port(), "down"), plain(two.port, "two")]
    reports = await Mailer(relays).try_each(notice(), [A])
    assert [outcomes(r.attempts) for r in reports] == [
        [("one", "accepted")],
        [("down", "connect-error")],
        [("two", "accepted")],
    ]
    assert len(one.received) == len(two.received) == 1


async def test_a_message_no_relay_could_take_is_an_input_error(relay: SmtpServer) -> None:
    mailer = Mailer([plain(relay.port, "r1")])
    with pytest.raises(InputError, match="no recipients"):
        await mailer.deliver(notice(), [])
    with pytest.raises(InputError, match="not addresses"):
        await mailer.deliver(notice(), ["fault@cust.example\r\nRCPT TO:<x@y>"])
    bare = EmailMessage()
    bare["From"] = "slawatch@carrier.example"
    with pytest.raises(InputError, match="Message-ID"):
        await mailer.deliver(bare, [A])


# -- TLS and AUTH -----------------------------------------------------------------------------
USERS = {"slawatch": "s3cret pw"}


def secure(port: int, tls: TlsMode, cert: Cert | None, password: str = "s3cret pw") -> Relay:
    return Relay(
        host=HOST, port=port, tls=tls, username="slawatch", password=password,
        ca_file=cert.cert if cert else None, timeout_s=2.0, name=str(tls),
    )  # fmt: skip


async def test_starttls_with_auth(relay_factory: Callable[..., SmtpServer], cert: Cert) -> None:
    server = relay_factory(tls="starttls", cert=cert, users=USERS)
    server.start()
    report = await Mailer([secure(server.port, TlsMode.STARTTLS, cert)]).deliver(notice(), [A])
    assert report.results[0].accepted
    assert [(m.tls, m.login) for m in server.received] == [(True, "slawatch")]


async def test_implicit_tls_with_auth(relay_factory: Callable[..., SmtpServer], cert: Cert) -> None:
    server = relay_factory(tls="implicit", cert=cert, users=USERS)
    server.start()
    report = await Mailer([secure(server.port, TlsMode.IMPLICIT, cert)]).deliver(notice(), [A])
    assert report.results[0].accepted
    assert [(m.tls, m.login) for m in server.received] == [(True, "slawatch")]


async def test_wrong_password_is_an_auth_error_and_the_next_relay_is_used(
    relay_factory: Callable[..., SmtpServer], cert: Cert, relay: SmtpServer
) -> None:
    server = relay_factory(tls="starttls", cert=cert, users=USERS)
    server.start()
    relays = [
        secure(server.port, TlsMode.STARTTLS, cert, password="wrong"),
        plain(relay.port, "r2"),
    ]
    report = await Mailer(relays).deliver(notice(), [A])
    assert outcomes(report.attempts) == [("starttls", "auth-error"), ("r2", "accepted")]
    assert report.attempts[0].code == 535
    assert server.received == []


@pytest.mark.parametrize("tls", [TlsMode.STARTTLS, TlsMode.IMPLICIT])
async def test_untrusted_certificate_is_a_tls_error(
    relay_factory: Callable[..., SmtpServer], cert: Cert, tls: TlsMode
) -> None:
    server = relay_factory(tls=str(tls), cert=cert, users=USERS)
    server.start()
    report = await Mailer([secure(server.port, tls, None)]).deliver(notice(), [A])
    assert outcomes(report.attempts) == [(str(tls), "tls-error")]
    assert "certificate" in report.attempts[0].reply.lower()
    assert report.results[0].pending and server.received == []


async def test_starttls_required_but_not_offered_is_a_tls_error(
    relay: SmtpServer, cert: Cert
) -> None:
    report = await Mailer([secure(relay.port, TlsMode.STARTTLS, cert)]).deliver(notice(), [A])
    assert outcomes(report.attempts) == [("starttls", "tls-error")]
    assert relay.received == []


async def test_a_notice_read_back_from_the_outbox_is_delivered_unchanged(
    relay: SmtpServer,
) -> None:
    """The outbox stores ``bytes(msg)`` and parses it back with the SMTP policy."""
    import email
    import email.policy

    original = notice()
    stored = email.message_from_bytes(bytes(original), policy=email.policy.SMTP)
    assert isinstance(stored, EmailMessage)
    report = await Mailer([plain(relay.port, "r1")]).deliver(stored, [A])
    assert report.results[0].accepted
    got = relay.received[0].message()
    assert got["Message-ID"] == original["Message-ID"]
    for kind in ("plain", "html"):
        sent, arrived = original.get_body((kind,)), got.get_body((kind,))
        assert sent is not None and arrived is not None
        # On the wire text is CRLF-canonical; what matters is the same text.
        assert arrived.get_content().replace("\r\n", "\n") == sent.get_content()
