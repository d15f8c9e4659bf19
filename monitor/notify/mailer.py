"""SMTP delivery over a list of relays: timeouts, backoff, fail-over. The only aiosmtplib user.

Theory of operation
-------------------
``Mailer.deliver`` works through *rounds*. A round offers the still-pending recipients to
each relay in configured order, one connection (an *attempt*) per relay, until none is
pending. Each attempt runs under the relay's ``timeout_s`` (connect, TLS, AUTH and the whole
transaction together), cut short by ``give_up_at``. What an attempt learns:

    250 at end of data     recipients not refused at RCPT are accepted, at that moment
    4xx, timeout, connect/TLS/AUTH failure
                           nothing is decided; the recipients stay pending for the next relay
    5xx for a recipient    (at RCPT) that recipient fails for good: no relay will be asked again
    5xx for the message    (greeting, MAIL FROM, DATA) this relay is done with the message,
                           but the next relay is still asked: relays differ in policy and
                           size limits, and a notice that some relay takes is worth the try

After a round with recipients still pending, ``deliver`` sleeps ``Backoff`` (exponential,
with jitter so that many notices do not retry in step) and starts another round, until
``give_up_at`` (monotonic seconds). ``give_up_at=None`` means one round, no retries: the
caller (the outbox) owns the retry schedule. When every relay has refused the message for
good, the remaining recipients fail permanently. A TLS or AUTH failure is usually a
configuration mistake, but a relay can also be mid-restart: it costs one connection per
round to ask again, and the attempts show ``tls-error``/``auth-error`` for the operator.

A stall after the data was sent is a timeout: the relay may have taken the message, and the
next relay will take it again. That duplicate carries the same Message-ID, so it is
recognisable; a lost notice would not be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import aiosmtplib.protocol

from monitor.clock import Wall, utcnow
from monitor.core.errors import ConfigError
from monitor.core.retry import Backoff
from monitor.notify.relays import Relay, TlsMode, resolve_password, tls_context
from monitor.notify.transport import (
    AttemptLog,
    DeliveryReport,
    Monotonic,
    Outcome,
    RecipientResult,
    Sleep,
    envelope,
)

__all__ = ["Backoff", "Mailer", "Relay", "TlsMode", "resolve_password"]

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff()


@dataclass(slots=True)
class _Attempt:
    """What one attempt decided, before it becomes part of the report."""

    log: AttemptLog
    accepted: dict[str, RecipientResult] = field(default_factory=dict)
    refused: dict[str, RecipientResult] = field(default_factory=dict)  # permanent, per rcpt
    deferred: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # per-rcpt 4xx
    done_with_relay: bool = False  # the relay refused the message itself (5xx)


@dataclass(slots=True)
class _Progress:
    """How far an attempt got: the phase tells a TLS or AUTH failure from others; ``cut``
    says the timeout interrupted it mid-command."""

    phase: str = "connect"  # connect, tls, auth, send, sent
    cut: bool = False


class Mailer:
    """SMTP transport over ``relays``, tried in order; see the module docstring.

    Clocks and randomness come in through the constructor: ``wall`` (aware UTC) stamps
    acceptances and attempts, ``monotonic``/``sleep`` drive timeouts and backoff, ``rng``
    (uniform in [0, 1)) the jitter. ``on_attempt`` sees every attempt as it ends (metrics).
    """

    def __init__(
        self,
        relays: Sequence[Relay],
        *,
        wall: Wall = utcnow,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff: Backoff = DEFAULT_BACKOFF,
        rng: Callable[[], float] = random.random,
        local_hostname: str | None = None,
        quit_timeout_s: float = 1.0,
        on_attempt: Callable[[AttemptLog], None] | None = None,
    ) -> None:
        if not relays:
            raise ConfigError("notify.smtp: no relay given; list one, or use the Maildir sink")
        names = [r.name for r in relays]
        if len(set(names)) != len(names):
            raise ConfigError(f"notify.smtp: relay names {names} repeat; give each a name")
        self._relays = tuple(relays)
        self._tls = {r.name: tls_context(r) for r in relays if r.tls is not TlsMode.NONE}
        self._wall, self._mono, self._sleep = wall, monotonic, sleep
        self._backoff, self._rng = backoff, rng
        # Not socket.getfqdn(): that may wait on DNS, and EHLO only needs a name.
        self._local_hostname = local_hostname or socket.gethostname()
        self._quit_timeout_s = quit_timeout_s
        self._on_attempt = on_attempt

    @property
    def relays(self) -> tuple[Relay, ...]:
        return self._relays

    async def deliver(
        self,
        msg: EmailMessage,
        recipients: Sequence[str],
        *,
        give_up_at: float | None = None,
        left: Callable[[], float] | None = None,
    ) -> DeliveryReport:
        """Deliver ``msg`` to ``recipients`` through the relays, retrying until ``give_up_at``
        (monotonic seconds; None: one round), while ``left()`` seconds remain to this node
        (asked before each attempt: transport.py).
        Never raises for delivery failures; raises InputError only for a message no relay
        could take (no recipients, From, Message-ID)."""
        return await self._run(self._relays, msg, recipients, give_up_at, left)

    async def try_each(
        self, msg: EmailMessage, recipients: Sequence[str]
    ) -> tuple[DeliveryReport, ...]:
        """One attempt at every relay on its own, in order: each relay that works delivers a
        copy. For ``slawatch notify-test``, which shows every relay's answer."""
        return tuple([await self._run((r,), msg, recipients, None) for r in self._relays])

    async def close(self) -> None:
        """Nothing to release: every attempt opens and closes its own connection."""

    # -- rounds ----------------------------------------------------------------------------
    async def _run(
        self,
        relays: Sequence[Relay],
        msg: EmailMessage,
        recipients: Sequence[str],
        give_up_at: float | None,
        left: Callable[[], float] | None = None,
    ) -> DeliveryReport:
        mid, rcpts = envelope(msg, recipients)
        final: dict[str, RecipientResult] = {}
        last: dict[str, tuple[str, int | None, str]] = {}  # pending rcpt -> relay, code, reply
        attempts: list[AttemptLog] = []
        done: set[str] = set()  # relays that refused the message for good
        retries, stopped = 0, False
        while True:
            for relay in relays:
                pending = [r for r in rcpts if r not in final]
                budget = self._budget(relay, give_up_at)
                if not pending or budget <= 0:
                    break
                if relay.name in done:
                    continue
                if left is not None and left() <= 0:
                    log.warning("%s: not sent on: this node may no longer send", mid)
                    stopped = True
                    break
                a = await self._attempt(relay, msg, tuple(pending), budget)
                attempts.append(a.log)
                if self._on_attempt is not None:
                    self._on_attempt(a.log)
                final |= a.accepted | a.refused
                for r in pending:
                    code, reply = a.deferred.get(r, (a.log.code, a.log.reply))
                    last[r] = (relay.name, code, reply)
                if a.done_with_relay:
                    done.add(relay.name)
            if (
                stopped
                or all(r in final for r in rcpts)
                or give_up_at is None
                or done >= {r.name for r in relays}
            ):
                break
            wait = self._backoff.delay(retries, self._rng)
            retries += 1
            if self._mono() + wait >= give_up_at:
                break
            await self._sleep(wait)
        refused_everywhere = done >= {r.name for r in relays}
        results = tuple(
            final.get(r) or _unsent(r, last.get(r), permanent=refused_everywhere) for r in rcpts
        )
        return DeliveryReport(message_id=mid, results=results, attempts=tuple(attempts))

    def _budget(self, relay: Relay, give_up_at: float | None) -> float:
        """Seconds this attempt may take: the relay's timeout, cut short by ``give_up_at``."""
        if give_up_at is None:
            return relay.timeout_s
        return min(relay.timeout_s, give_up_at - self._mono())

    # -- one attempt -------------------------------------------------------------------------
    async def _attempt(
        self, relay: Relay, msg: EmailMessage, rcpts: tuple[str, ...], budget: float
    ) -> _Attempt:
        started, t0 = self._wall(), self._mono()
        smtp = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            timeout=budget,
            use_tls=relay.tls is TlsMode.IMPLICIT,
            start_tls=False,  # done explicitly in _exchange, so a failure is known to be TLS's
            tls_context=self._tls.get(relay.name),
            local_hostname=self._local_hostname,
        )
        progress = _Progress()
        try:
            async with asyncio.timeout(budget):  # not wait_for: it can eat a cancel (3.11)
                errors, reply, at = await self._exchange(smtp, relay, msg, rcpts, progress)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            outcome, code, text = _classify(exc, progress.phase)
            attempt = _Attempt(log=self._log(relay, rcpts, started, t0, outcome, code, text))
            if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
                _sort_refusals(attempt, relay.name, exc.recipients)
            elif outcome is Outcome.PERMFAIL:
                attempt.done_with_relay = True
            return attempt
        finally:
            await self._hang_up(smtp, polite=not progress.cut)
        attempt = _Attempt(log=self._log(relay, rcpts, started, t0, Outcome.ACCEPTED, 250, reply))
        refusals = [
            aiosmtplib.SMTPRecipientRefused(e.code, e.message, r) for r, e in errors.items()
        ]
        _sort_refusals(attempt, relay.name, refusals)
        attempt.accepted = {
            r: RecipientResult(
                recipient=r, relay=relay.name, accepted=True, at=at, code=250, reply=reply,
                permanent=False,
            )
            for r in rcpts
            if r not in errors
        }  # fmt: skip
        return attempt

    def _log(
        self,
        relay: Relay,
        rcpts: tuple[str, ...],
        started: datetime,
        t0: float,
        outcome: Outcome,
        code: int | None,
        reply: str,
    ) -> AttemptLog:
        """The attempt's record, ending now; logged too (failures as warnings)."""
        level = logging.INFO if outcome is Outcome.ACCEPTED else logging.WARNING
        log.log(level, "relay %s: %s %s (to %s)", relay.name, outcome, reply, ", ".join(rcpts))
        return AttemptLog(
            relay=relay.name,
            recipients=rcpts,
            started=started,
            finished=self._wall(),
            elapsed_s=max(self._mono() - t0, 0.0),
            outcome=outcome,
            code=code,
            reply=reply,
        )

    async def _exchange(
        self,
        smtp: aiosmtplib.SMTP,
        relay: Relay,
        msg: EmailMessage,
        rcpts: tuple[str, ...],
        progress: _Progress,
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str, datetime]:
        """Connect, secure, log in, send; the wall time of the final reply is the acceptance."""
        try:
            await smtp.connect()
            if relay.tls is TlsMode.STARTTLS:
                progress.phase = "tls"
                await smtp.starttls()
            if relay.username is not None:
                progress.phase = "auth"
                await smtp.login(relay.username, relay.password or "")
            progress.phase = "send"
            errors, reply = await smtp.send_message(msg, recipients=list(rcpts))
            at = self._wall()
            progress.phase = "sent"
            return errors, reply, at
        except asyncio.CancelledError:
            progress.cut = True  # wait_for ran out: the session is in an unknown state
            raise

    async def _hang_up(self, smtp: aiosmtplib.SMTP, *, polite: bool) -> None:
        """QUIT when the session is in a known state, then close. Errors here change nothing:
        whatever was accepted already is, whatever was not is still pending."""
        protocol = smtp.protocol
        try:
            if polite and smtp.is_connected:
                async with asyncio.timeout(self._quit_timeout_s):
                    await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
        finally:
            smtp.close()
        if protocol is not None:
            # A TLS close waits for the peer's close_notify before the socket is shut; give
            # it a moment (real time), so no half-closed socket outlives the attempt.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._quit_timeout_s):
                    await _closed(protocol)


async def _closed(protocol: aiosmtplib.protocol.SMTPProtocol) -> None:
    """Returns once the connection is gone (the protocol drops its transport then).
    Polled: aiosmtplib offers no public way to await the close."""
    while protocol.transport is not None:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


def _sort_refusals(
    attempt: _Attempt, relay: str, refusals: Sequence[aiosmtplib.SMTPRecipientRefused]
) -> None:
    """RCPT refusals: a 5xx fails that recipient for good; a 4xx leaves it pending."""
    for e in refusals:
        if e.code >= 500:
            attempt.refused[e.recipient] = RecipientResult(
                recipient=e.recipient,
                relay=relay,
                accepted=False,
                at=None,
                code=e.code,
                reply=e.message,
                permanent=True,
            )
        else:
            attempt.deferred[e.recipient] = (e.code, e.message)


def _classify(exc: BaseException, phase: str) -> tuple[Outcome, int | None, str]:
    """(outcome, SMTP code if any, text) for an attempt that raised during ``phase``."""
    code = exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else None
    text = f"{code} {exc.message}" if isinstance(exc, aiosmtplib.SMTPResponseException) else ""
    text = text or str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return Outcome.TIMEOUT, None, f"no answer in time (during {phase})"
    if phase == "tls" or _caused_by(exc, ssl.SSLError):
        return Outcome.TLS_ERROR, code, text
    if phase == "auth" or isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Outcome.AUTH_ERROR, code, text
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        outcome = Outcome.PERMFAIL if min(codes, default=500) >= 500 else Outcome.TEMPFAIL
        said = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
        return outcome, max(codes, default=None), said
    if code is not None and 400 <= code < 600:
        return (Outcome.PERMFAIL if code >= 500 else Outcome.TEMPFAIL), code, text
    return Outcome.CONNECT_ERROR, code, text


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # library errors wrap each other a few levels deep at most
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _unsent(
    rcpt: str, last: tuple[str, int | None, str] | None, *, permanent: bool
) -> RecipientResult:
    relay, code, reply = last if last is not None else (None, None, "no attempt was made")
    return RecipientResult(
        recipient=rcpt,
        relay=relay,
        accepted=False,
        at=None,
        code=code,
        reply=reply,
        permanent=permanent,
    )
