"""What the human formats (text, md, html, pdf) show, as plain strings: one place decides
how a time, a duration, yen or an incident's row reads, so the formats differ only in layout.

Times are shown in the circuit's timezone; durations as ``H:MM:SS`` (hours may exceed 24);
availability as a percentage rounded *down* to 3 decimals, so 99.9996% never shows as 100%.
Text from operators (maintenance notes, exclusion reasons) goes through :func:`clean`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from fractions import Fraction

from monitor.core import sla
from monitor.core.model import Lang
from monitor.core.report import CircuitMonth, Claim, Entry, MonthReport, Source
from monitor.report.words import WORDS

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SHOWN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Characters that act instead of showing: controls (NUL, ESC), format characters (the bidi
overrides and isolates such as U+202E, zero-width ones), surrogates, line separators."""

COLUMNS = (
    "col_id",
    "col_start",
    "col_end",
    "col_duration",
    "col_counted",
    "col_tier",
    "col_credit",
    "col_notice",
    "col_claim",
)


@dataclass(frozen=True, slots=True)
class Words:
    """``w("key", field=...)``: one language's text with its fields filled."""

    lang: Lang

    def __call__(self, key: str, **fields: object) -> str:
        text = WORDS[self.lang][key]
        return text.format(**fields) if fields else text


def when(at: datetime | None, tz: tzinfo, *, seconds: bool = True) -> str:
    """``2026-10-05 00:40:00`` in ``tz`` (no offset: the circuit's zone is stated once)."""
    if at is None:
        return "-"
    text = local(at, tz)
    return text if seconds else text[:16]


def short(at: datetime | None, tz: tzinfo) -> str:
    """``10-05 00:40:00``: a table cell (the report's heading gives the year)."""
    return "-" if at is None else local(at, tz)[5:]


def local(at: datetime, tz: tzinfo) -> str:
    """``2026-10-05 00:40:00``: ``at`` in ``tz``, to the second. A year's report shows each
    instant in several places (a row, the timeline, a notice, both months of an outage
    across a month's end) and formats a million of them: made once per value (cached by
    the UTC instant: equal local times in a zone can be two instants, a fold)."""
    return _local(at if at.tzinfo is UTC else at.astimezone(UTC), tz)


@functools.lru_cache(maxsize=1 << 16)
def _local(at: datetime, tz: tzinfo) -> str:
    t = at.astimezone(tz)  # an f-string, not strftime: twice as fast
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def stamp(at: datetime, tz: tzinfo) -> str:
    """A time with its offset, for the report's "as of" line."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")


def duration(seconds: float) -> str:
    """``H:MM:SS``; fractions of a second are dropped (the JSON keeps them)."""
    return _hms(max(int(seconds), 0))


@functools.lru_cache(maxsize=8192)  # an incident's duration and counted time are mostly one
def _hms(whole: int) -> str:
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def percent_digits(value: Fraction) -> str:
    """``"99.861"``: a fraction as a percentage rounded down to 3 decimals."""
    thousandths = value * 100_000 // 1
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def percent(value: Fraction | None) -> str:
    """``99.861%``, rounded down to 3 decimals; ``-`` for None."""
    return "-" if value is None else f"{percent_digits(value)}%"


def yen(w: Words, amount: int) -> str:
    return w("yen", n=f"{amount:,}")


@functools.lru_cache(maxsize=16384)
def credit(w: Words, fee_yen: int, fraction: Fraction) -> str:
    """``1/90（3,333円）``: a fraction of the fee and its yen, rounded down. Cached: a circuit's
    credits take a handful of values, and Fraction arithmetic is slow."""
    if not fraction:
        return "0"
    return w("paren", text=fraction, note=yen(w, sla.yen(fee_yen, fraction)))


def notice(w: Words, e: Entry, tz: tzinfo) -> str:
    a, i = e.assessment, e.incident
    if a.notify_deadline is None:
        return w("notice_none")
    if a.notify_breach:
        if i.notified is None:
            return w("notice_breach", deadline=short(a.notify_deadline, tz))
        return w("notice_late", at=short(i.notified, tz))
    if i.notified is not None:
        return w("notice_ok", at=short(i.notified, tz))
    return w("notice_pending", deadline=short(a.notify_deadline, tz))


def claim_state(w: Words, c: Claim) -> str:
    if c.claim_by is None or c.days_left is None:
        return w("claim_open")
    if c.expired:
        return w("claim_expired")
    if c.expiring:
        return w("claim_expiring", days=c.days_left)
    return w("claim_ok", days=c.days_left)


def claim_cell(w: Words, e: Entry) -> str:
    """The earliest claim deadline of the entry (the claims list says which are expiring)."""
    if not e.claims:
        return "-"
    first = min(e.claims, key=lambda c: (c.claim_by is None, c.claim_by))
    return w("claim_open") if first.claim_by is None else first.claim_by.isoformat()


def row(w: Words, c: CircuitMonth, e: Entry) -> tuple[str, ...]:
    """One incident's cells, in :data:`COLUMNS` order."""
    a, i = e.assessment, e.incident
    return (
        str(i.id),
        short(i.start, c.tz),
        w("open") if i.end is None else short(i.end, c.tz),
        duration(a.duration_s),
        duration(a.counted_s),
        str(a.tier),
        w("excluded") if i.excluded is not None else str(e.month_credit),
        notice(w, e, c.tz),
        claim_cell(w, e),
    )


def header(w: Words) -> tuple[str, ...]:
    return tuple(w(k) for k in COLUMNS)


def claim_header(w: Words) -> tuple[str, ...]:
    keys = ("col_id", "col_kind", "col_credit", "col_share", "col_claim", "col_state")
    return tuple(w(k) for k in keys)


def summary(w: Words, c: CircuitMonth) -> list[tuple[str, str]]:
    """The circuit's key figures as (label, value) pairs."""
    avail = (
        w("availability_none")
        if c.availability is None
        else w(
            "availability_of",
            pct=percent(c.availability),
            down=duration(c.unavailable_s),
            service=duration(c.service_s),
        )
    )
    total = w(
        "total_of",
        fraction=c.total.credit,
        yen=yen(w, c.total.credit_yen),
    )
    pairs = [
        (w("timezone"), str(c.tz)),
        (w("fee"), yen(w, c.fee_yen)),
        *([(w("nat_fee"), yen(w, c.static_nat_fee_yen))] if c.static_nat_fee_yen else []),
        (w("availability"), avail),
        (w("maintenance"), duration(c.maintenance_s)),
        (w("unmonitored"), duration(c.unmonitored_s)),
        (w("total"), total),
    ]
    if c.capped:
        pairs.append(("", w("capped", uncapped=c.total.uncapped)))
    return pairs


def maintenance_lines(w: Words, c: CircuitMonth) -> list[str]:
    """Each window with its note, when the customer was told (where that was not its start)
    and where it was recorded; a window recorded after it began says so (SLA.md §1)."""
    out = []
    for a in c.maintenance:
        source = (
            w("source_config")
            if a.source == "config"
            else w("source_other", source=clean(a.source))
        )
        notes = [source]
        if a.window.told != a.window.start:
            notes.append(w("announced", at=when(a.window.told, c.tz, seconds=False)))
        if a.late:
            notes.append(w("recorded_late"))
        note = f" {clean(a.window.note)}" if a.window.note else ""
        span = f"{when(a.window.start, c.tz, seconds=False)} - "
        span += f"{when(a.window.end, c.tz, seconds=False)}{note}"
        out.append(w("paren", text=span, note=", ".join(notes)))
    return out


def exclusion_lines(w: Words, c: CircuitMonth) -> list[str]:
    """Each exclusion in force with its reason, then each one withdrawn: when, why, and the
    reason it had (an auditor sees every exclusion made and undone)."""
    out = [f"#{e.incident.id}: {clean(e.incident.excluded or '')}" for e in c.exclusions]
    out += [
        f"#{x.incident}: "
        + w("withdrawn", at=when(x.at, c.tz, seconds=False), reason=clean(x.reason),
            was=clean(x.excluded))
        for x in c.withdrawn
    ]  # fmt: skip
    return out


def gap_lines(w: Words, c: CircuitMonth) -> list[str]:
    """Incidents with time the monitor did not see: not running (gaps) or blind."""
    out = []
    for e in c.entries:
        a = e.assessment
        notes = []
        if a.gaps:
            spans = ", ".join(f"{short(g.start, c.tz)} - {short(g.end, c.tz)}" for g in a.gaps)
            notes.append(w("gaps_note", spans=spans))
        if a.blind_s:
            notes.append(w("blind_note", time=duration(a.blind_s)))
        if notes:
            out.append(f"#{e.incident.id}: {'; '.join(notes)}")
    return out


def claims_in_order(c: CircuitMonth) -> list[Claim]:
    """The month's claims, earliest claim deadline first (open-ended ones last)."""
    return sorted(c.claims, key=lambda cl: (cl.claim_by is None, cl.claim_by, cl.incident))


def claim_row(w: Words, c: CircuitMonth, cl: Claim) -> tuple[str, ...]:
    """(incident, kind, credit, share of the capped total, claim by, state) of one credit of
    the month. An outage credit is a fraction of the base fee; a missed notice is 1/30 of the
    monthly charges (base + static NAT), shown as such (SLA.md §2, §3)."""
    return (
        f"#{cl.incident}",
        w("kind_outage") if cl.kind == "outage" else w("kind_notify"),
        _claim_credit(w, c, cl),
        yen(w, cl.share_yen),
        "-" if cl.claim_by is None else cl.claim_by.isoformat(),
        claim_state(w, cl),
    )


def claim_rows(w: Words, c: CircuitMonth) -> list[tuple[str, ...]]:
    """``claim_row`` for each credit of the month, in ``claims_in_order``."""
    return [claim_row(w, c, cl) for cl in claims_in_order(c)]


def _claim_credit(w: Words, c: CircuitMonth, cl: Claim) -> str:
    return _credit_of(w, c.fee_yen, cl.kind == "outage", cl.credit)


@functools.lru_cache(maxsize=16384)
def _credit_of(w: Words, fee_yen: int, outage: bool, credit: Fraction) -> str:
    """Cached as :func:`credit` is: a circuit's claims take a handful of values."""
    amount = yen(w, sla.yen(fee_yen, credit))
    if outage:
        return w("of_base", fraction=credit, yen=amount)
    return w("of_charges", fraction=sla.NOTIFY_BREACH_CREDIT, yen=amount)


def source_of(reports: Sequence[MonthReport]) -> Source | None:
    """What the reports' figures were made from (the first that says)."""
    return next((r.source for r in reports if r.source is not None), None)


def footer(w: Words, source: Source | None) -> str:
    """Where the figures came from: the journal's or events file's name (SLA.md §4)."""
    if source is None:
        return w("footer", source=w("source_unknown"))
    return w("footer", source=w(f"source_{source.kind}", name=source.name))


def title(w: Words, month: str) -> str:
    return w("title", month=month)


def as_of(w: Words, r: MonthReport) -> str:
    tz = r.circuits[0].tz if r.circuits else r.now.tzinfo
    assert tz is not None
    return w("as_of", at=stamp(r.now, tz))


def clean(text: str) -> str:
    """Operator text as a report may show it: every character that would act instead of
    showing (see ``_SHOWN``) written out as ``<U+202E>``, line breaks and tabs as a space,
    so a reason can neither hide nor reorder what a reader sees. Shown, not dropped: a
    report is evidence."""
    if text.isprintable():
        return text
    return "".join(_shown(ch) for ch in text)


def _shown(ch: str) -> str:
    if unicodedata.category(ch) not in _SHOWN:
        return ch  # printable, or a space such as U+3000 (ideographic)
    return " " if ch.isspace() else f"<U+{ord(ch):04X}>"


@functools.lru_cache(maxsize=4096)
def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters
    take two."""
    if text.isascii():
        return len(text)
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in _NON_ASCII.findall(text))
    return len(text) + wide


def pad(text: str, cols: int) -> str:
    """``text`` padded with spaces to ``cols`` columns."""
    return text + " " * max(cols - width(text), 0)
