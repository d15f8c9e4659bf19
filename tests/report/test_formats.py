"""``slawatch report`` over a recorded journal: every format against its golden file.

The journal is tests/report/scenario.py's October (maintenance from the config and from the
API, an exclusion, notification breaches, an unmonitored gap, blindness, an outage across the
month end, the cap). Regenerate the goldens after an intended change with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/report

and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.cli import main
from monitor.core.assess import CircuitTerms
from monitor.core.model import Announced, MaintenanceWindow
from monitor.core.report import month_report
from monitor.core.tracker import Incident
from monitor.report import render
from tests.report import scenario
from tests.support import require_tool

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return scenario.build(tmp_path_factory.mktemp("october"))


def report(cfg: Path, out: Path, *args: str) -> str:
    code = main(["report", "--config", str(cfg), "--now", scenario.NOW, "-o", str(out), *args])
    assert code == 0
    return out.read_bytes().decode("utf-8")  # as written: CSV keeps its CRLF


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"no golden {name}: run UPDATE_GOLDEN=1 pytest tests/report"
    assert text == path.read_bytes().decode("utf-8"), f"{name} differs from golden"


CASES = [
    ("2026-10", "text", "ja"),
    ("2026-10", "text", "en"),
    ("2026-10", "md", "ja"),
    ("2026-10", "md", "en"),
    ("2026-10", "html", "ja"),
    ("2026-10", "html", "en"),
    ("2026-10", "csv", "ja"),
    ("2026-10", "json", "ja"),
    ("2026-11", "text", "en"),  # the outage from October 31st, seen from November
]


@pytest.mark.parametrize(("month", "fmt", "lang"), CASES)
def test_format_matches_golden(
    recorded: tuple[Path, Path, Path], tmp_path: Path, month: str, fmt: str, lang: str
) -> None:
    cfg, _, _ = recorded
    out = tmp_path / f"report.{fmt}"
    text = report(cfg, out, "--month", month, "--format", fmt, "--lang", lang)
    neutral = fmt in ("csv", "json")
    check_golden(f"{month}.{fmt}" if neutral else f"{month}.{lang}.{fmt}", text)


def test_the_month_s_figures_in_text(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The scenario's arithmetic, stated once here so a golden cannot quietly drift."""
    cfg, _, _ = recorded
    text = report(cfg, tmp_path / "r.txt", "--month", "2026-10", "--lang", "en")
    assert "31/90 of the base monthly fee (JPY 103,333)" in text  # er-tokyo-1
    assert "1 of the base monthly fee (JPY 123,457)" in text  # er-osaka-2, capped
    assert "capped: the credits add up to 11/10 of the base monthly fee" in text
    # er-tokyo-1: #9's 6 h inside the gap (10-22 12:00-18:00) is neither unavailable nor
    # service time (SLA.md §6.8), though its credit is for all 8 h
    assert "97.317% (unavailable 19:31:00 of 727:30:00 service time)" in text
    # er-osaka-2: #10's 20 min inside the blind interval likewise
    assert "51.062% (unavailable 360:55:00 of 737:30:00 service time)" in text
    assert "expired" in text and "expiring: 5 days left" in text and "31 days left" in text
    # er-osaka-2's claims, each with its share of the capped total: they add up to it
    osaka = text[text.index("Circuit er-osaka-2") :]
    shares = [int(m) for m in re.findall(r"\)\s+JPY ([\d,]+)\s+20", osaka.replace(",", ""))]
    assert shares == [3741, 56117, 3741, 37411, 22447] and sum(shares) == 123457
    assert "no notification within 30 minutes (due 10-13 12:32:00, none sent)" in osaka
    assert "late" not in osaka
    assert text.rstrip().endswith("Made by slawatch from the journal journal.db. Times are in "
                                  "each circuit's timezone.")  # fmt: skip


def test_the_footer_names_an_events_file(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    cfg, _, events = recorded
    for lang, words in (
        ("en", "the events file events.jsonl"),
        ("ja", "イベントファイル events.jsonl"),
    ):
        text = report(cfg, tmp_path / "r.txt", "--month", "2026-10", "--events", str(events),
                      "--lang", lang)  # fmt: skip
        assert words in text.splitlines()[-1]


def test_november_sees_the_tail_of_october_s_outage(
    recorded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    cfg, _, _ = recorded
    text = report(cfg, tmp_path / "r.txt", "--month", "2026-11", "--lang", "en")
    # 11-01 00:00 to 11-02 03:50 is November's unavailable time; the credit stays October's
    assert "(unavailable 27:50:00 of" in text
    assert "No outage counts in this month." in text


def test_one_circuit_and_a_range_of_months(
    recorded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    cfg, _, _ = recorded
    text = report(cfg, tmp_path / "r.txt", "--month", "2026-09..2026-11", "--circuit", "er-osaka-2")
    assert [line for line in text.splitlines() if line.startswith("SLA ")] == [
        f"SLA 月次報告 {m} (2027-01-02 10:00:00 +0900 時点)"
        for m in ("2026-09", "2026-10", "2026-11")
    ]
    assert "er-tokyo-1" not in text and text.count("回線 er-osaka-2") == 3


def test_html_escapes_operator_text(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    cfg, _, _ = recorded
    page = report(cfg, tmp_path / "r.html", "--month", "2026-10", "--format", "html")
    for raw in ("<script>", "<b>", "<img"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "fibre work &lt;img src=x onerror=alert(1)&gt; &amp; splice" in page
    assert "default-src 'none'" in page  # the CSP: no script, no fetch
    assert page.count("<svg") == 2 and "class='outage'" in page


def test_markdown_escapes_operator_text(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    cfg, _, _ = recorded
    text = report(cfg, tmp_path / "r.md", "--month", "2026-10", "--format", "md")
    assert "<script>" not in text and "<img" not in text
    assert r"outage \| rack 3" in text  # the pipe cannot split a table cell


def test_pdf_has_pages(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    require_tool("chromium")
    cfg, _, _ = recorded
    out = tmp_path / "r.pdf"
    report_args = ["--month", "2026-10", "--format", "pdf", "-o", str(out)]
    assert main(["report", "--config", str(cfg), "--now", scenario.NOW, *report_args]) == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) >= 1


def test_a_hostile_circuit_id_cannot_add_markup() -> None:
    """Config ids are restricted to [A-Za-z0-9._-], but the renderers do not rely on it."""
    hostile = "<script>alert('id')</script>"
    terms = {hostile: CircuitTerms(circuit=hostile, fee_yen=1000, tz=ZoneInfo("Asia/Tokyo"))}
    start = datetime(2026, 10, 3, tzinfo=UTC)
    i = Incident(id=1, circuit=hostile, start=start, detected=start, end=start.replace(hour=2))
    r = month_report("2026-10", incidents=[i], terms=terms, now=datetime(2026, 11, 1, tzinfo=UTC))
    for lang in ("ja", "en"):
        page = render([r], "html", lang)  # type: ignore[arg-type]
        # markupsafe's escapes (the page is a Jinja2 template): ' is &#39;, " is &#34;
        assert "<script>" not in page and "&lt;script&gt;alert(&#39;id&#39;)" in page
        assert "<script>" not in render([r], "md", lang)  # type: ignore[arg-type]


def _nat_month(**window: str) -> str:
    """A month of a circuit with a static NAT option (¥45,000), one 75-minute outage never
    notified, and a maintenance window recorded through the API as given."""
    tz = ZoneInfo("Asia/Tokyo")
    terms = {"c": CircuitTerms(circuit="c", fee_yen=300_000, static_nat_fee_yen=45_000, tz=tz)}
    start = datetime(2026, 10, 3, 1, tzinfo=UTC)
    i = Incident(id=1, circuit="c", start=start, detected=start, end=start + timedelta(minutes=75))
    announced = [
        Announced(
            circuit="c",
            window=MaintenanceWindow(
                start=datetime.fromisoformat(window["start"]),
                end=datetime.fromisoformat(window["end"]),
                announced_at=datetime.fromisoformat(window["told"]),
            ),
            source="api",
            recorded_at=datetime.fromisoformat(window["recorded"]),
            recorded_by="cli alice",
        )
    ]
    r = month_report(
        "2026-10",
        incidents=[i],
        terms=terms,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        announced=announced,
        first_seen={"c": datetime(2026, 9, 1, tzinfo=UTC)},
    )
    return render([r], "text", "en")


def test_nat_fee_and_a_window_recorded_late_in_the_report() -> None:
    text = _nat_month(
        start="2026-10-20T00:00+09:00",
        end="2026-10-20T02:00+09:00",
        told="2026-10-19T00:00+09:00",
        recorded="2026-10-20T01:00+09:00",
    )
    assert "static NAT option, monthly  JPY 45,000" in text
    # 1/30 of 300,000 for the outage + 1/30 of 345,000 for the notice = 21,500
    assert "(JPY 21,500)" in text
    assert "1/30 of the monthly charges (JPY 11,500)  JPY 11,500" in text
    assert "1/30 of the base fee (JPY 10,000)" in text
    assert "(added via api, announced 2026-10-19 00:00, recorded after it began)" in text
