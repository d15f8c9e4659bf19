"""Notices as values: what a notice says (``NoticeFacts``) and what became of it at a relay
(``Delivery``). Rendering is ``monitor/notify``'s; deciding what is owed is the deadline
ledger's (deadlines.py) and the supervisor's; the store keeps both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.errors import InputError
from monitor.core.model import require_aware
from monitor.core.sla import Tier


class NoticeKind(StrEnum):
    """What a notice says. Values match ``monitor.core.deadlines.ActionKind`` where shared."""

    OPENED = "opened"
    REMINDER = "reminder"
    RECOVERED = "recovered"
    DEADLINE_AT_RISK = "deadline-at-risk"
    BLIND = "blind"
    BLIND_ENDED = "blind-ended"
    DISAGREE = "vantage-disagree"
    TEST = "test"


BLIND_KINDS = frozenset({NoticeKind.BLIND, NoticeKind.BLIND_ENDED})

# Which datetimes each kind cannot do without (the rest may be None).
_REQUIRED: dict[NoticeKind, tuple[str, ...]] = {
    NoticeKind.OPENED: ("start", "detected"),
    NoticeKind.REMINDER: ("start", "detected"),
    NoticeKind.RECOVERED: ("start", "end"),
    NoticeKind.DEADLINE_AT_RISK: ("detected", "notify_deadline"),
    NoticeKind.BLIND: ("blind_since",),
    NoticeKind.BLIND_ENDED: ("blind_since", "end"),
    NoticeKind.DISAGREE: (),
    NoticeKind.TEST: (),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeFacts:
    """Everything a notice may say. Datetimes aware (any zone; shown in ``timezone``).

    ``incident`` numbers the incident; blind notices are about the monitor, not an incident,
    so for them it is ignored (pass 0) and ``blind_since`` identifies the notice. ``circuit``
    of a blind notice is a label of the monitor (e.g. ``"monitor"``). ``seq`` numbers
    reminders (1, 2, ...); a TEST notice uses ``now`` as its identity so each test is new.
    ``group`` is the ledger's contact group (``"primary"``, ``"escalation"``, ``"noc"``); it is
    part of the Message-ID so the same notice to two groups is two messages.
    Durations are seconds (``duration_s`` raw, ``counted_s`` less maintenance); ``credit``
    is the fraction of the monthly fee and ``credit_yen`` its whole yen, rounded down.
    ``paths`` are ``(path name, state)`` pairs such as ``("active/primary", "down")``.
    """

    circuit: str
    incident: int
    kind: NoticeKind
    now: datetime
    timezone: str = "Asia/Tokyo"
    start: datetime | None = None
    detected: datetime | None = None
    end: datetime | None = None
    duration_s: float = 0.0
    counted_s: float = 0.0
    tier: Tier = Tier.NONE
    credit: Fraction = Fraction(0)
    credit_yen: int = 0
    notify_deadline: datetime | None = None
    blind_since: datetime | None = None
    paths: tuple[tuple[str, str], ...] = ()
    seq: int = 0
    group: str | None = None
    note: str = ""
    removed: bool = False
    """A RECOVERED owed because the circuit left monitoring (a reload removed it) while the
    outage went on: it says monitoring ended then, not that the circuit recovered."""

    def __post_init__(self) -> None:
        zone(self.timezone)
        for name in ("now", "start", "detected", "end", "notify_deadline", "blind_since"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, f"notice {self.kind} {name}")
        missing = [n for n in _REQUIRED[self.kind] if getattr(self, n) is None]
        if missing:
            raise InputError(f"a {self.kind} notice needs {', '.join(missing)}; give them")
        if self.kind is NoticeKind.REMINDER and self.seq < 1:
            raise InputError("a reminder notice needs seq >= 1 (the reminder's number)")


INCIDENT_KINDS = frozenset({NoticeKind.OPENED, NoticeKind.REMINDER, NoticeKind.RECOVERED})
"""Kinds whose acceptance for a designated contact is the incident's notification (§3)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; InputError naming the fix when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Tokyo"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """The fate of one recipient of one notice. ``relay`` names the relay that accepted or
    refused it, or was tried last (None: no attempt was made). ``code``/``reply`` are that
    relay's answer; ``at`` (aware UTC) when it accepted: the proof of notification.
    ``permanent`` is True for a 5xx refusal: no retry will help. A recipient neither
    accepted nor permanently refused is still pending: the caller may try again later."""

    recipient: str
    relay: str | None
    accepted: bool
    at: datetime | None
    code: int | None
    reply: str
    permanent: bool

    @property
    def pending(self) -> bool:
        return not self.accepted and not self.permanent
