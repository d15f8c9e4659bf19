"""HTML: one self-contained page (inline CSS and SVG, no script, nothing fetched), for a
browser, for mail, and as the source of the PDF.

Every piece of text is escaped where it is put into the page (``html.escape`` with quotes),
whatever its origin: circuit ids, maintenance notes and exclusion reasons come from operators
and must not be able to add markup. A Content-Security-Policy that forbids scripts and
every fetch backs this up in a browser.

The timeline is an SVG strip per circuit over the local calendar month: outages (red),
announced maintenance (blue) and unmonitored time (amber, hatched), with a tick per day.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

from monitor.core.model import Lang
from monitor.core.report import CircuitMonth, MonthReport
from monitor.report import cells
from monitor.report.cells import Words

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_UNSAFE = re.compile("[&<>\"']")


def _escape(text: str) -> str:
    """``html.escape(text)`` (quotes included), with one scan instead of five passes when
    there is nothing to replace: a year of 1,000 circuits puts 1.2 million strings in a page."""
    return escape(text) if _UNSAFE.search(text) else text


STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Noto Sans CJK JP", "IPAPGothic", "IPAGothic", sans-serif; color: #1b1f24;
  margin: 0 auto; max-width: 1100px; padding: 16px; font-size: 13px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 6px;
  border-bottom: 2px solid #1b1f24; } h3 { font-size: 13px; margin: 12px 0 4px; }
.asof { color: #555; margin: 0 0 12px; }
h2, h3 { break-after: avoid-page; } tr, svg, dl { break-inside: avoid-page; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; margin: 0 0 8px; }
dt { color: #555; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #c9ced6; padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #eef1f5; } td.num { text-align: right; }
tr.excluded td { color: #777; text-decoration: line-through; }
tr.excluded td.keep { text-decoration: none; }
.bad { color: #b3261e; font-weight: bold; } .warn { color: #8a5a00; font-weight: bold; }
ul { margin: 2px 0; padding-left: 20px; }
svg { display: block; margin: 6px 0 10px; }
footer { color: #555; margin-top: 24px; font-size: 11px; }
"""

WIDTH, LEFT, BAR, TOP = 1000, 4, 18, 6
NL = "\n"
COLOURS = {"outage": "#d93025", "maintenance": "#4a7bd0", "unmonitored": "url(#hatch{n})"}


class _Scale:
    """A time to x on the strip (clamped to it)."""

    __slots__ = ("start", "whole")

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.whole = start, (end - start).total_seconds()

    def x(self, at: datetime) -> float:
        return LEFT + (WIDTH - 2 * LEFT) * max(
            min((at - self.start).total_seconds() / self.whole, 1), 0
        )


def _rects(
    kind: str, spans: Iterable[tuple[datetime, datetime, str]], scale: _Scale, n: int
) -> list[str]:
    out, fill = [], COLOURS[kind].format(n=n)
    for lo, hi, label in spans:
        x0, x1 = scale.x(lo), scale.x(hi)
        out.append(
            f"<rect class='{kind}' x='{x0:.1f}' y='{TOP}' width='{max(x1 - x0, 1.5):.1f}' "
            f"height='{BAR}' fill='{fill}'><title>{_escape(label)}</title></rect>"
        )
    return out


@functools.lru_cache(maxsize=256)
def _days(start: datetime, end: datetime, tz: tzinfo) -> str:
    """The day ticks and their numbers of one local month: the same for every circuit in a
    timezone, so a year of 1,000 circuits draws 12 of them, not 12,000."""
    local, scale = start.astimezone(tz), _Scale(start, end)
    days, ticks = int((end - start) / timedelta(days=1) + 0.5), []
    for d in range(days):
        x = scale.x(datetime(local.year, local.month, d + 1, tzinfo=tz).astimezone(UTC))
        ticks.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{TOP + BAR + 4}'/>")
        if d == 0 or (d + 1) % 5 == 0:
            ticks.append(f"<text x='{x + 2:.1f}' y='{TOP + BAR + 16}'>{d + 1}</text>")
    return "".join(ticks)


@functools.lru_cache(maxsize=8)
def _legend(w: Words) -> str:
    return " ".join(
        f"<tspan fill='{'#b07a00' if k == 'unmonitored' else COLOURS[k]}'>■</tspan> "
        f"{_escape(w('legend_' + k))}"
        for k in ("outage", "maintenance", "unmonitored")
    )


def timeline(w: Words, c: CircuitMonth, n: int = 0) -> str:
    """The month as an SVG strip; every label escaped. ``n`` keeps ids unique in a page."""
    scale = _Scale(c.start, c.end)

    def label(kind: str, lo: datetime, hi: datetime | None, note: str = "") -> str:
        extra = f" {cells.clean(note)}" if note else ""
        until = w("open") if hi is None else cells.when(hi, c.tz)
        return f"{w(kind)} {cells.when(lo, c.tz)} - {until}{extra}"

    maint = [
        (
            a.window.start,
            a.window.end,
            label("legend_maintenance", a.window.start, a.window.end, a.window.note),
        )
        for a in c.maintenance
    ]
    parts = [
        *_rects("maintenance", maint, scale, n),
        *_rects(
            "unmonitored",
            (
                (s.start, s.end or c.measured_to, label("legend_unmonitored", s.start, s.end))
                for s in c.unmonitored
            ),
            scale,
            n,
        ),
        *_rects(
            "outage",
            (
                (s.start, s.end or c.measured_to, label("legend_outage", s.start, s.end))
                for s in c.outages
            ),
            scale,
            n,
        ),
    ]
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} 62' width='100%' "
        f"role='img' aria-label='{_escape(w('timeline', month=c.month))}'>"
        f"<defs><pattern id='hatch{n}' width='6' height='6' patternUnits='userSpaceOnUse' "
        "patternTransform='rotate(45)'><rect width='6' height='6' fill='#f6d37a'/>"
        "<line y2='6' stroke='#b07a00' stroke-width='2'/></pattern></defs>"
        f"<rect x='{LEFT}' y='{TOP}' width='{WIDTH - 2 * LEFT}' height='{BAR}' fill='#e8f3e8' "
        "stroke='#9aa5b1'/>"
        f"\n<g stroke='#9aa5b1' font-size='10' fill='#555'>{_days(c.start, c.end, c.tz)}</g>\n"
        f"{NL.join(parts)}\n"
        f"<text x='{LEFT}' y='{TOP + BAR + 32}' font-size='10'>"
        f"{_legend(w)}</text></svg>\n"
    )


def _list(title: str, lines: Sequence[str]) -> str:
    if not lines:
        return ""
    items = NL.join(f"<li>{_escape(line)}</li>" for line in lines)
    return f"<h3>{_escape(title)}</h3>\n<ul>\n{items}\n</ul>\n"


def _grid(head: tuple[str, ...], rows: Sequence[str]) -> str:
    return f"<table>\n{_thead(head)}\n<tbody>\n{NL.join(rows)}\n</tbody>\n</table>\n"


@functools.lru_cache(maxsize=16)
def _thead(head: tuple[str, ...]) -> str:
    """A table's head row (the same for every circuit of a report)."""
    cols = "".join(f"<th>{_escape(h)}</th>" for h in head)
    return f"<thead><tr>{cols}</tr></thead>"


def _table(w: Words, c: CircuitMonth) -> str:
    if not c.entries:
        return f"<p>{_escape(w('no_incidents'))}</p>\n"
    body = []
    for e in c.entries:
        (ident, start, end, dur, counted, tier, credit, notice, claim) = map(
            _escape, cells.row(w, c, e)
        )
        klass = " class='excluded'" if e.incident.excluded is not None else ""
        late = " class='bad keep'" if e.assessment.notify_breach else ""
        body.append(
            f"<tr{klass}><td>{ident}</td><td>{start}</td><td>{end}</td>"
            f"<td class='num'>{dur}</td><td class='num'>{counted}</td><td>{tier}</td>"
            f"<td>{credit}</td><td{late}>{notice}</td><td>{claim}</td></tr>"
        )
    return _grid(cells.header(w), body)


def _claims(w: Words, c: CircuitMonth) -> str:
    ordered = cells.claims_in_order(c)
    if not ordered:
        return ""
    body = []
    for cl in ordered:
        cols = cells.claim_row(w, c, cl)
        state = "bad" if cl.expired else "warn" if cl.expiring else ""
        tds = "".join(f"<td>{_escape(x)}</td>" for x in cols[:-1])
        body.append(f"<tr>{tds}<td class='{state}'>{_escape(cols[-1])}</td></tr>")
    return f"<h3>{_escape(w('claims'))}</h3>\n" + _grid(cells.claim_header(w), body)


def _circuit(w: Words, c: CircuitMonth, n: int) -> str:
    summary = NL.join(f"<dt>{_escape(k)}</dt><dd>{_escape(v)}</dd>" for k, v in cells.summary(w, c))
    return (
        f"<section>\n<h2>{_escape(w('circuit'))} {_escape(c.circuit)}</h2>\n"
        f"<dl>\n{summary}\n</dl>\n{timeline(w, c, n)}{_table(w, c)}"
        f"{_list(w('exclusions'), cells.exclusion_lines(c))}"
        f"{_list(w('gaps'), cells.gap_lines(w, c))}"
        f"{_list(w('maintenance_list'), cells.maintenance_lines(w, c))}"
        f"{_claims(w, c)}</section>\n"
    )


def render(reports: Sequence[MonthReport], lang: Lang) -> str:
    w = Words(lang)
    title = " / ".join(cells.title(w, r) for r in reports)
    body, n = [], 0
    for r in reports:
        body.append(
            f"<h1>{_escape(cells.title(w, r))}</h1>\n"
            f"<p class='asof'>{_escape(cells.as_of(w, r))}</p>\n"
        )
        for c in r.circuits:
            body.append(_circuit(w, c, n))
            n += 1
    return (
        f"<!DOCTYPE html>\n<html lang='{lang}'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{''.join(body)}<footer>{_escape(cells.footer(w, reports))}</footer>\n</body>\n</html>\n"
    )
