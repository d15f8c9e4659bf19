"""HTML: one self-contained page (inline CSS and SVG, no script, nothing fetched), for a
browser, for mail, and as the source of the PDF.

The page is ``templates/report.html``, drawn through :func:`monitor.html.render`: this module
prepares plain values (cells.py's strings, the timeline's coordinates to 0.1, flags) and the
template places them, escaped by autoescape; the pieces a section has many of (the summary's
pairs, the timeline's spans, the tables' rows) are drawn here, each value escaped by
:func:`monitor.html.text` (the same bytes). Every piece of text is escaped, whatever its
origin: circuit ids, maintenance notes and exclusion reasons come from operators and must not
be able to add markup. A Content-Security-Policy in the page that forbids scripts and every
fetch backs this up in a browser.

Speed: a year of 1,000 circuits is 12,000 circuit sections and a million values. Through the
template, each was a call of markupsafe's ``escape`` and a Markup made (a microsecond each, a
sixth of the page); drawn here, a value with nothing to escape costs a few ``in`` tests. What
is the same for every circuit of a month (31 day ticks, the numbers of six) or of a page (the
table heads) is drawn once by a macro of ``templates/parts.html``, cached, and placed as it is
(:func:`monitor.html.macro`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from monitor import html
from monitor.core.model import Lang
from monitor.core.report import CircuitMonth, MonthReport, Source
from monitor.report import cells
from monitor.report.cells import Words

WIDTH, LEFT = 1000, 4
"""The timeline's strip runs from x=LEFT to WIDTH-LEFT of a viewBox WIDTH wide (the template
draws it there)."""

Span = tuple[str, str, str]
"""A span on the strip: (x, width, title), x and width to 0.1 (``"133.3"``)."""


@dataclass(frozen=True, slots=True)
class CircuitView:
    """One circuit's section of the page: plain values, and as Markup its many small pieces
    drawn here: the summary's pairs, the timeline's spans (a line break where there are
    none, as month.html drew), the incidents' and the claims' rows; ``n`` numbers it in the
    page (the id of its hatch pattern)."""

    n: int
    circuit: str
    summary: html.Markup
    label: str
    ticks: html.Markup
    spans: html.Markup
    rows: html.Markup
    lists: list[tuple[str, list[str]]]
    claims: html.Markup


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    as_of: str
    circuits: Iterator[CircuitView]


class _Scale:
    """A time to x on the strip (clamped to it)."""

    __slots__ = ("start", "whole")

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.whole = start, (end - start).total_seconds()

    def x(self, at: datetime) -> float:
        return LEFT + (WIDTH - 2 * LEFT) * max(
            min((at - self.start).total_seconds() / self.whole, 1.0), 0.0
        )


def _placed(spans: Iterable[tuple[datetime, datetime, str]], scale: _Scale) -> list[Span]:
    out = []
    for lo, hi, title in spans:
        x0, x1 = scale.x(lo), scale.x(hi)
        out.append((f"{x0:.1f}", f"{max(x1 - x0, 1.5):.1f}", title))
    return out


def _part(name: str) -> Callable[..., html.Markup]:
    """A macro of templates/parts.html: its output is escaped there, placed as it is."""
    return html.macro("monitor.report", "parts.html", name)


@functools.lru_cache(maxsize=256)
def _days(start: datetime, end: datetime, tz: tzinfo) -> html.Markup:
    """The day ticks of one local month, the 1st and every 5th day numbered: the same for
    every circuit in a timezone, so a year of 1,000 circuits draws 12 of them, not 12,000."""
    local, scale = start.astimezone(tz), _Scale(start, end)
    days, ticks = int((end - start) / timedelta(days=1) + 0.5), []
    for d in range(days):
        x = scale.x(datetime(local.year, local.month, d + 1, tzinfo=tz).astimezone(UTC))
        shown = d == 0 or (d + 1) % 5 == 0
        ticks.append((f"{x:.1f}", f"{x + 2:.1f}", d + 1 if shown else None))
    return _part("ticks")(ticks)


def _timeline(w: Words, c: CircuitMonth) -> tuple[list[Span], list[Span], list[Span]]:
    """The month's maintenance, unmonitored time and outages on the strip."""
    scale = _Scale(c.start, c.end)

    def title(kind: str, lo: datetime, hi: datetime | None, note: str = "") -> str:
        extra = f" {cells.clean(note)}" if note else ""
        until = w("open") if hi is None else cells.when(hi, c.tz)
        return f"{w(kind)} {cells.when(lo, c.tz)} - {until}{extra}"

    maint = (
        (m.start, m.end, title("legend_maintenance", m.start, m.end, m.note))
        for m in (a.window for a in c.maintenance)
    )
    unmonitored = (
        (s.start, s.end or c.measured_to, title("legend_unmonitored", s.start, s.end))
        for s in c.unmonitored
    )
    outages = (
        (s.start, s.end or c.measured_to, title("legend_outage", s.start, s.end)) for s in c.outages
    )
    return _placed(maint, scale), _placed(unmonitored, scale), _placed(outages, scale)


def _circuit(w: Words, c: CircuitMonth, n: int) -> CircuitView:
    lists = [
        (w("exclusions"), cells.exclusion_lines(w, c)),
        (w("gaps"), cells.gap_lines(w, c)),
        (w("maintenance_list"), cells.maintenance_lines(w, c)),
    ]
    return CircuitView(
        n=n,
        circuit=c.circuit,
        summary=_summary(cells.summary(w, c)),
        label=w("timeline", month=c.month),
        ticks=_days(c.start, c.end, c.tz),
        spans=_spans(w, c, n),
        rows=_rows(w, c),
        lists=[(heading, lines) for heading, lines in lists if lines],
        claims=_claims(w, c),
    )


# The pieces of a section it has many of (a year: a million values), drawn here as month.html
# drew them: every value escaped (t, html.text) but the coordinates and the classes this
# module writes itself.


def _summary(pairs: list[tuple[str, str]]) -> html.Markup:
    t = html.text
    return html.Markup("".join([f"<dt>{t(k)}</dt><dd>{t(v)}</dd>\n" for k, v in pairs]) or "\n")


def _spans(w: Words, c: CircuitMonth, n: int) -> html.Markup:
    """The timeline's maintenance (blue), unmonitored time (amber, hatched with the section's
    pattern ``n``) and outages (red, on top): a line break if none."""
    t, out = html.text, []
    for kind, fill, spans in zip(_KINDS, ("#4a7bd0", f"url(#hatch{n})", "#d93025"),
                                 _timeline(w, c), strict=True):  # fmt: skip
        out += [
            f"<rect class='{kind}' x='{x}' y='6' width='{width}' height='18' fill='{fill}'>"
            f"<title>{t(title)}</title></rect>\n"
            for x, width, title in spans
        ]
    return html.Markup("".join(out) or "\n")


_KINDS = ("maintenance", "unmonitored", "outage")


def _rows(w: Words, c: CircuitMonth) -> html.Markup:
    """The incidents' table rows: an excluded one struck through, a late notice in red."""
    t, out = html.text, []
    for e in c.entries:
        ident, start, end, dur, counted, tier, credit, notice, claim = map(t, cells.row(w, c, e))
        excluded = " class='excluded'" if e.incident.excluded is not None else ""
        late = " class='bad keep'" if e.assessment.notify_breach else ""
        out.append(
            f"<tr{excluded}><td>{ident}</td><td>{start}</td><td>{end}</td><td class='num'>{dur}"
            f"</td><td class='num'>{counted}</td><td>{tier}</td><td>{credit}</td><td{late}>"
            f"{notice}</td><td>{claim}</td></tr>\n"
        )
    return html.Markup("".join(out))


def _claims(w: Words, c: CircuitMonth) -> html.Markup:
    """The claims' table rows, the state of an expired one red, of an expiring one amber."""
    t, out = html.text, []
    for cl in cells.claims_in_order(c):
        ident, kind, credit, share, by, state = map(t, cells.claim_row(w, c, cl))
        flag = "bad" if cl.expired else "warn" if cl.expiring else ""
        out.append(
            f"<tr><td>{ident}</td><td>{kind}</td><td>{credit}</td><td>{share}</td><td>{by}</td>"
            f"<td class='{flag}'>{state}</td></tr>\n"
        )
    return html.Markup("".join(out))


@dataclass(frozen=True, slots=True)
class PageWords:
    """The page's fixed text: headings, the legend, and the table heads parts.html drew (an
    object, not a dict: the template's ``words.circuit`` tries an attribute first)."""

    circuit: str
    no_incidents: str
    claims: str
    outage: str
    maintenance: str
    unmonitored: str
    header: html.Markup
    claim_header: html.Markup


@functools.lru_cache(maxsize=8)
def _words(w: Words) -> PageWords:
    return PageWords(
        circuit=w("circuit"),
        no_incidents=w("no_incidents"),
        claims=w("claims"),
        outage=w("legend_outage"),
        maintenance=w("legend_maintenance"),
        unmonitored=w("legend_unmonitored"),
        header=_part("head")(cells.header(w)),
        claim_header=_part("head")(cells.claim_header(w)),
    )


def part(r: MonthReport, lang: Lang, first: int = 0) -> str:
    """One month's part of the page; its circuits numbered from ``first`` (the numbers must
    be unique in the page: give each month the count of the circuits before it)."""
    w = Words(lang)
    numbers = itertools.count(first)
    view = ReportView(
        cells.title(w, r.month),
        cells.as_of(w, r),
        (_circuit(w, c, next(numbers)) for c in r.circuits),
    )
    return html.render("monitor.report", "month.html", r=view, words=_words(w))


_PARTS = "\x00parts\x00"
"""Where the months go in the page: a mark no text of the page can hold (cells.clean writes
a NUL out as ``<U+0000>``)."""


def assemble(
    parts: Sequence[str], months: Sequence[str], source: Source | None, lang: Lang
) -> list[str]:
    """The page of the months' ``parts`` (in order, each as :func:`part` drew it), as pieces
    to write one after the other: the page is drawn around a mark and the parts put in its
    place, not copied into it (a year of 1,000 circuits is 65 MiB of them)."""
    w = Words(lang)
    page = html.render(
        "monitor.report",
        "report.html",
        lang=lang,
        title=" / ".join(cells.title(w, m) for m in months),
        parts=[html.Markup(_PARTS)],
        footer=cells.footer(w, source),
    )
    head, tail = page.split(_PARTS)
    return [head, *parts, tail]
