"""Renderers of the month report (:mod:`monitor.core.report`): one module per format.

    text  aligned tables for a terminal         md    Markdown (GitHub tables)
    csv   one row per incident, for billing     json  /api/sla's object plus the report's
    html  one self-contained page with an SVG timeline
    pdf   that page printed by headless Chromium (pdf.py; needs an output file)

The human formats take ``lang`` (``ja``, the default, or ``en``) and get every string from
cells.py and words.py; csv and json are language-neutral. Renderers are pure: values in, text
out; only pdf.py runs a program.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from monitor.core.model import Lang
from monitor.core.report import MonthReport, Source
from monitor.report import cells, csv_out, html_out, json_out, md, text

FORMATS = ("text", "md", "csv", "json", "html", "pdf")


def render(reports: Sequence[MonthReport], fmt: str, lang: Lang = "ja") -> str:
    """Every format but pdf as text (for pdf, render ``html`` and see pdf.print_pdf)."""
    before = itertools.accumulate((len(r.circuits) for r in reports), initial=0)
    parts = [render_part(r, fmt, lang, alone=len(reports) == 1, first=n)
             for r, n in zip(reports, before, strict=False)]  # fmt: skip
    return assemble(parts, [r.month for r in reports], cells.source_of(reports), fmt, lang)


def render_part(r: MonthReport, fmt: str, lang: Lang = "ja", *, alone: bool, first: int) -> str:
    """One month's part of a document of ``fmt``: the same for it whatever the other months
    are, so months can be drawn apart (in parallel) and put together by :func:`assemble`.
    ``alone``: the document has this month only; ``first``: how many circuits the months
    before it show (html numbers them across the page)."""
    if fmt == "text":
        return text.part(r, lang)
    if fmt == "md":
        return md.part(r, lang)
    if fmt == "csv":
        return csv_out.part(r)
    if fmt == "json":
        return json_out.part(r, alone=alone)
    if fmt == "html":
        return html_out.part(r, lang, first)
    raise ValueError(f"no text renderer for {fmt!r}")


def assemble(
    parts: Sequence[str], months: Sequence[str], source: Source | None, fmt: str, lang: Lang = "ja"
) -> str:
    """The document of ``fmt`` from the months' parts (in order) and where the figures came
    from (``source``, for the footer)."""
    return "".join(pieces(parts, months, source, fmt, lang))


def pieces(
    parts: Sequence[str], months: Sequence[str], source: Source | None, fmt: str, lang: Lang = "ja"
) -> list[str]:
    """:func:`assemble`'s document as pieces to write one after the other (the parts
    themselves among them, not copied)."""
    if fmt == "text":
        return text.assemble(parts, source, lang)
    if fmt == "md":
        return md.assemble(parts, source, lang)
    if fmt == "csv":
        return csv_out.assemble(parts)
    if fmt == "json":
        return json_out.assemble(parts)
    if fmt == "html":
        return html_out.assemble(parts, months, source, lang)
    raise ValueError(f"no text renderer for {fmt!r}")
