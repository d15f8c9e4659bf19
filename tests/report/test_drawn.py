"""The HTML report's pieces drawn in Python (html_out.py) and the cached local times
(cells.local): the same bytes as the template's autoescape, the same text as formatting each
instant afresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from monitor import html
from monitor.report import cells

NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


@given(st.text(alphabet=st.sampled_from("&<>'\"a1 ;#\u3042\u202e\x00"), max_size=12) | st.text())
def test_text_escapes_as_autoescape_does(value: str) -> None:
    assert html.text(value) == str(escape(value))
    assert type(html.text(value)) is str


def test_text_escapes_each_of_the_five() -> None:
    assert html.text("<a href='x' title=\"y\">&</a>") == (
        "&lt;a href=&#39;x&#39; title=&#34;y&#34;&gt;&amp;&lt;/a&gt;"
    )


def test_a_local_time_is_its_instants_whatever_zone_it_is_given_in() -> None:
    """The cache is keyed by the UTC instant: the two 01:30 of New York's fall back (fold 0
    and 1) compare equal in their zone, and hash alike, yet are an hour apart."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    second = first.replace(fold=1)
    assert first == second and hash(first) == hash(second)  # what a naive cache would merge
    assert cells.when(first, TOKYO) == "2026-11-01 14:30:00"
    assert cells.when(second, TOKYO) == "2026-11-01 15:30:00"
    assert cells.short(second, TOKYO) == "11-01 15:30:00"
    assert cells.when(second, TOKYO, seconds=False) == "2026-11-01 15:30"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=250_000_000_000_000_000))
def test_a_cached_local_time_reads_as_one_formatted_afresh(us: int) -> None:
    at = EPOCH + timedelta(microseconds=us)
    for tz in (TOKYO, NEW_YORK, UTC):
        t = at.astimezone(tz)
        fresh = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        assert cells.when(at, tz) == fresh
        assert cells.when(at.astimezone(NEW_YORK) + timedelta(0), tz) == fresh
