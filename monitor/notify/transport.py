"""What a delivery reports, and the seam every transport fits (SMTP relays, local Maildir).

A delivery never raises because mail could not be delivered: refusals, timeouts and dead
relays are data, recorded per attempt (``AttemptLog``) and per recipient
(``RecipientResult``). The acceptance time of a recipient, ``RecipientResult.at``, is the
proof of notification (SLA.md §6.4): when the relay's final 250 reply to the message arrived
(for the Maildir sink, when the file was in place). Wall times are aware UTC.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from enum import StrEnum
from typing import Protocol

from monitor.core.errors import InputError
from monitor.core.notices import Delivery

Monotonic = Callable[[], float]
"""Returns monotonic seconds (``time.monotonic``): for timeouts and give-up times."""
Sleep = Callable[[float], Awaitable[None]]

_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


class Outcome(StrEnum):
    """How one attempt at one relay ended."""

    ACCEPTED = "accepted"  # at least one recipient accepted
    TEMPFAIL = "4xx"  # a transient refusal: retry later or elsewhere
    PERMFAIL = "5xx"  # a permanent refusal (of the message or of every recipient)
    TIMEOUT = "timeout"  # the per-attempt timeout ran out (connect, TLS, AUTH or send)
    CONNECT_ERROR = "connect-error"  # refused, reset, unreachable, dropped
    TLS_ERROR = "tls-error"  # handshake or certificate failure, STARTTLS not offered
    AUTH_ERROR = "auth-error"  # credentials refused, or AUTH not offered
    WRITE_ERROR = "write-error"  # the Maildir sink could not write the file


RecipientResult = Delivery
"""The fate of one recipient (a core value: the store keeps it, the supervisor reads it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptLog:
    """One connection to one relay. ``started``/``finished`` wall (aware UTC);
    ``elapsed_s`` monotonic seconds; ``code``/``reply`` the server's last word, if any."""

    relay: str
    recipients: tuple[str, ...]
    started: datetime
    finished: datetime
    elapsed_s: float
    outcome: Outcome
    code: int | None
    reply: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """Everything one ``deliver`` call did: per recipient (in the order asked), per attempt."""

    message_id: str
    results: tuple[RecipientResult, ...]
    attempts: tuple[AttemptLog, ...]

    @property
    def accepted(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.results if r.accepted)

    @property
    def pending(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.results if r.pending)

    @property
    def first_accepted_at(self) -> datetime | None:
        return min((r.at for r in self.results if r.at is not None), default=None)


class Transport(Protocol):
    """Delivers a rendered notice. ``give_up_at`` is a monotonic time. ``left`` says how many
    more seconds this node may send (a leader's lease: see service/cluster.py): asked before
    each attempt (each relay, each retry round), it stops the delivery at 0, the recipients
    not yet answered left pending (the next leader sends them, same Message-ID). An attempt
    under way is not cut (a relay slower than the lease's renewals would never be through).
    See each transport."""

    async def deliver(
        self,
        msg: EmailMessage,
        recipients: Sequence[str],
        *,
        give_up_at: float | None = None,
        left: Callable[[], float] | None = None,
    ) -> DeliveryReport: ...

    async def close(self) -> None: ...


def envelope(msg: EmailMessage, recipients: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """(Message-ID, recipients without duplicates, in order); InputError for what no relay
    could ever take: no recipients, no sender address, no Message-ID."""
    rcpts = tuple(dict.fromkeys(r.strip() for r in recipients if r.strip()))
    if not rcpts:
        raise InputError("deliver: no recipients; give at least one address")
    bad = [r for r in rcpts if not _ADDRESS.fullmatch(r)]
    if bad:
        raise InputError(f"deliver: {bad!r} are not addresses; write them as name@domain")
    if not [a for _, a in getaddresses([str(msg.get("From", ""))]) if "@" in a]:
        raise InputError("deliver: the message has no From address; render() sets one")
    mid = str(msg.get("Message-ID", "")).strip()
    if not mid:
        raise InputError("deliver: the message has no Message-ID; render() sets one")
    return mid, rcpts
