"""Notice rendering: facts in, one ``EmailMessage`` out. Pure: no clock, no IO, no randomness.

Every notice is plain text plus an HTML alternative built from the same content (title,
paragraphs, labelled fields, a path table), in the contact's language (texts.py). Times are
shown in the circuit's timezone with the abbreviation and the offset, e.g.
``2026-10-05 03:12:00 JST (+09:00)``; the Date header is ``facts.now`` in that zone.

Rendering the same facts twice gives the same bytes: the Message-ID comes from the notice's
identity (:func:`message_id`), the MIME boundary from the Message-ID. A resend after a
crash is therefore recognisable (same Message-ID), and golden files can hold whole messages.

Circuit ids, notes and path names are treated as hostile: HTML output is escaped, header
values are kept to one line, and Message-ID parts are encoded to a valid dot-atom.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from monitor import html
from monitor.core.chain import HEAD_HEADER, ChainHead, head_header
from monitor.core.errors import InputError
from monitor.core.model import LANGS, Lang
from monitor.core.notices import BLIND_KINDS, NoticeFacts, NoticeKind, zone
from monitor.core.sla import fraction_text
from monitor.notify.texts import TEXTS, LangText

# -- identity ------------------------------------------------------------------------------
_ATOM_SAFE = re.compile(r"[A-Za-z0-9_-]")


def _id_part(text: str) -> str:
    """``text`` as part of a dot-atom: unsafe bytes as ``=XX``, and a dot only where one is
    legal (not first, last or doubled), so any circuit id gives a valid, distinct id."""
    out: list[str] = []
    for i, ch in enumerate(text):
        lone_dot = ch == "." and 0 < i < len(text) - 1 and text[i - 1] != "."
        if _ATOM_SAFE.fullmatch(ch) or lone_dot:
            out.append(ch)
        else:
            out.extend(f"={b:02X}" for b in ch.encode())
    return "".join(out) or "=00"


def message_id(
    circuit: str,
    incident: int,
    kind: NoticeKind | str,
    *,
    seq: int = 0,
    group: str | None = None,
    lang: str | None = None,
    domain: str,
    origin: str = "",
) -> str:
    """``<slawatch[.{origin}].{circuit}.{incident}.{kind}[.{group}][.{seq}][.{lang}]@{domain}>``.

    The middle follows ``deadlines.Action.key`` (circuit.incident.kind.group.seq); ``lang`` is
    added because one action to a group of mixed languages is one message per language.
    ``origin`` is the journal's id: incident numbers restart in a new journal, so without it
    two journals (or two hosts) would reuse Message-IDs."""
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", domain):
        raise InputError(f"message-id domain {domain!r}: give a host name like example.com")
    parts = [origin] if origin else []
    parts += [circuit, str(incident), str(kind)]
    parts += [group] if group else []
    parts += [str(seq)] if seq else []
    parts += [lang] if lang else []
    return f"<slawatch.{'.'.join(_id_part(p) for p in parts)}@{domain}>"


def _identity(facts: NoticeFacts) -> tuple[int, int]:
    """(incident, seq) for the Message-ID: blind notices by ``blind_since``, tests by now."""
    if facts.kind in BLIND_KINDS:
        assert facts.blind_since is not None
        return int(facts.blind_since.timestamp()), 0
    if facts.kind in (NoticeKind.TEST, NoticeKind.DISAGREE):
        return facts.incident, int(facts.now.timestamp())
    return facts.incident, facts.seq


# -- values as text ---------------------------------------------------------------------------
def when(at: datetime, tz: tzinfo) -> str:
    """``2026-10-05 03:12:00 JST (+09:00)``; zones without an abbreviation: ``(UTC+05:00)``."""
    local = at.astimezone(tz)
    raw = local.strftime("%z")
    offset = f"{raw[:3]}:{raw[3:]}"
    name = local.tzname() or ""
    stamp = local.strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} {name} ({offset})" if name.isalpha() else f"{stamp} (UTC{offset})"


def duration(seconds: float, t: LangText, *, exact: bool = False) -> str:
    """``1 h 23 min 45 s`` / ``1時間 23分 45秒`` (whole seconds, floor; negative → 0);
    ``exact`` appends the figure in seconds, which is what the credit is computed from."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    d, h, m, s = t.units
    words = [f"{days}{d}"] if days else []
    words += [f"{hours}{h}"] if days or hours else []
    words += [f"{minutes}{m}", f"{secs}{s}"]
    text = " ".join(words)
    figure = f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")
    return text + t.seconds.format(n=figure) if exact else text


def _one_line(text: str) -> str:
    """Control characters (CR, LF ...) to spaces: header values must stay one line."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)


# -- content ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class _Content:
    subject: str
    title: str
    paras: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    paths_label: str
    paths: tuple[tuple[str, str], ...]
    footer: str
    head: str
    """The journal's chain head line ("" when rendered without a journal)."""


def _values(facts: NoticeFacts, t: LangText, tz: tzinfo) -> dict[str, str]:
    """Every field a template or field row may use, already as text."""

    def at(value: datetime | None) -> str:
        return when(value, tz) if value is not None else "-"

    origin = facts.blind_since if facts.kind in BLIND_KINDS else facts.start
    upto = facts.end if facts.end is not None else facts.now
    elapsed = (upto - origin).total_seconds() if origin is not None else 0.0
    left = (facts.notify_deadline - facts.now) if facts.notify_deadline else timedelta(0)
    credit = (
        t.credit.format(fraction=fraction_text(facts.credit), yen=f"{facts.credit_yen:,}")
        if facts.credit
        else t.no_credit
    )
    return {
        "circuit": facts.circuit,
        "incident": str(facts.incident),
        "start": at(facts.start),
        "detected": at(facts.detected),
        "end": at(facts.end),
        "stopped": at(facts.end),
        "deadline": at(facts.notify_deadline),
        "since": at(facts.blind_since),
        "now": at(facts.now),
        "left": duration(left.total_seconds(), t),
        "elapsed": duration(elapsed, t),
        "duration": duration(facts.duration_s, t, exact=True),
        "counted": duration(facts.counted_s, t, exact=True),
        "tier": t.tiers[facts.tier],
        "credit": credit,
        "seq": str(facts.seq),
        "note": facts.note,
    }


# Field rows per kind, in order; "note" is added to every kind when there is one.
_FIELDS: dict[NoticeKind, tuple[str, ...]] = {
    kind: tuple(names.split())
    for kind, names in {
        NoticeKind.OPENED: "circuit incident start detected elapsed",
        NoticeKind.REMINDER: "circuit incident start detected elapsed",
        NoticeKind.RECOVERED: "circuit incident start end detected duration counted tier credit",
        NoticeKind.DEADLINE_AT_RISK: "circuit incident detected deadline left",
        NoticeKind.BLIND: "since elapsed",
        NoticeKind.BLIND_ENDED: "since end elapsed",
        NoticeKind.DISAGREE: "circuit now",
        NoticeKind.TEST: "circuit now",
    }.items()
}


_ENDED = ("circuit", "incident", "start", "stopped", "detected", "duration", "counted", "tier",
          "credit")  # fmt: skip
"""The fields of a RECOVERED that says monitoring ended (``NoticeFacts.removed``)."""


def _words(facts: NoticeFacts) -> tuple[str, tuple[str, ...]]:
    """The texts' key for ``facts`` and its field rows."""
    if facts.removed and facts.kind is NoticeKind.RECOVERED:
        return "monitoring-ended", _ENDED
    return str(facts.kind), _FIELDS[facts.kind]


def _subject(facts: NoticeFacts, lang: Lang, values: dict[str, str]) -> str:
    key = _words(facts)[0]
    words = {code: TEXTS[code].kinds[key].subject.format(**values) for code in LANGS}
    # A Japanese subject carries the English words too, for staff who read only those.
    said = f"{words['ja']} / {words['en']}" if lang == "ja" else words["en"]
    if facts.kind in BLIND_KINDS:  # about the monitor itself: no circuit, no incident
        return _one_line(f"[slawatch] {said}")
    number = f" #{facts.incident}" if facts.incident > 0 else ""
    return _one_line(f"[slawatch] {facts.circuit}{number} {said}")


def _content(facts: NoticeFacts, lang: Lang, head: ChainHead | None) -> _Content:
    t = TEXTS[lang]
    values = _values(facts, t, zone(facts.timezone))
    key, fields = _words(facts)
    kind = t.kinds[key]
    names = fields + (("note",) if facts.note else ())
    return _Content(
        subject=_subject(facts, lang, values),
        title=kind.title.format(**values),
        paras=tuple(p.format(**values) for p in kind.paras),
        fields=tuple((t.labels[n], values[n]) for n in names),
        paths_label=t.labels["paths"],
        paths=tuple((name, t.states.get(state, state)) for name, state in facts.paths),
        footer=t.footer,
        head="" if head is None else t.head.format(seq=head.seq, hash=head.hash),
    )


def _text(c: _Content) -> str:
    lines = [c.title, ""]
    for para in c.paras:
        lines += [para, ""]
    lines += [f"{label}: {value}" for label, value in c.fields]
    if c.paths:
        lines += ["", f"{c.paths_label}:"]
        lines += [f"  {name}: {state}" for name, state in c.paths]
    lines += ["", "-- ", c.footer]
    lines += [c.head] if c.head else []
    return "\n".join(lines) + "\n"


def _html(c: _Content, lang: Lang) -> str:
    return html.render("monitor.notify", "notice.html", c=c, lang=lang)


# -- the message ----------------------------------------------------------------------------
def render(
    facts: NoticeFacts,
    *,
    lang: Lang = "ja",
    sender: str,
    recipients: Sequence[str],
    domain: str | None = None,
    origin: str = "",
    head: ChainHead | None = None,
) -> EmailMessage:
    """The notice as a multipart/alternative message (text/plain, then text/html).

    ``domain`` (of the Message-ID) defaults to the sender's domain; ``origin`` (the journal's
    id) makes Message-IDs unique across journals (see :func:`message_id`). Headers: From, To,
    Subject, Date (``facts.now`` in the circuit's zone), Message-ID, Auto-Submitted
    (RFC 3834, so autoresponders stay quiet), X-Slawatch-{Circuit,Incident,Kind}; reminders
    and recoveries also point at the opening notice (In-Reply-To/References) to thread.

    ``head`` is the journal's chain head as the notice is stored (core/chain.py): it goes in
    ``X-Slawatch-Chain-Head: record=N; sha256=HEX`` and in the footer's last line, so the
    recipient's mailbox holds a copy of the chain's state that slawatch cannot rewrite."""
    if lang not in LANGS:
        raise InputError(f"language {lang!r}: use one of {', '.join(LANGS)}")
    if not recipients:
        raise InputError("a notice needs at least one recipient")
    domain = domain or parseaddr(sender)[1].rpartition("@")[2]
    number, seq = _identity(facts)
    mid = message_id(
        facts.circuit,
        number,
        facts.kind,
        seq=seq,
        group=facts.group,
        lang=lang,
        domain=domain,
        origin=origin,
    )
    content = _content(facts, lang, head)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = content.subject
    msg["Date"] = format_datetime(facts.now.astimezone(zone(facts.timezone)))
    msg["Message-ID"] = mid
    if facts.kind in (NoticeKind.REMINDER, NoticeKind.RECOVERED):
        opening = message_id(
            facts.circuit,
            number,
            NoticeKind.OPENED,
            group=facts.group,
            lang=lang,
            domain=domain,
            origin=origin,
        )
        msg["In-Reply-To"] = opening
        msg["References"] = opening
    _label(msg, facts)
    if head is not None:
        msg[HEAD_HEADER] = head_header(head)
    text, page = _text(content), _html(content, lang)
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    for part in msg.iter_parts():
        del part["MIME-Version"]  # add_alternative copies it into the html part
    msg["Content-Language"] = lang  # after set_content, which clears Content-* headers
    msg.set_boundary(_boundary(mid, text + page))
    return msg


def _label(msg: EmailMessage, facts: NoticeFacts) -> None:
    """Headers for machines: autoresponders stay quiet, filters can sort by circuit/kind."""
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Slawatch-Circuit"] = _one_line(facts.circuit)
    if facts.incident > 0 and facts.kind not in BLIND_KINDS:
        msg["X-Slawatch-Incident"] = str(facts.incident)
    msg["X-Slawatch-Kind"] = str(facts.kind)


def _boundary(mid: str, bodies: str) -> str:
    """A MIME boundary derived from the Message-ID (no randomness), never found in a body."""
    n = 0
    while True:
        seed = f"{mid}/{n}".encode()
        candidate = f"=_slawatch_{hashlib.sha256(seed).hexdigest()[:24]}"
        if candidate not in bodies:
            return candidate
        n += 1
