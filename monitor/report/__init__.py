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

from collections.abc import Sequence

from monitor.core.model import Lang
from monitor.core.report import MonthReport
from monitor.report import csv_out, html_out, json_out, md, text

FORMATS = ("text", "md", "csv", "json", "html", "pdf")


def render(reports: Sequence[MonthReport], fmt: str, lang: Lang = "ja") -> str:
    """Every format but pdf as text (for pdf, render ``html`` and see pdf.print_pdf)."""
    if fmt == "text":
        return text.render(reports, lang)
    if fmt == "md":
        return md.render(reports, lang)
    if fmt == "csv":
        return csv_out.render(reports)
    if fmt == "json":
        return json_out.render(reports)
    if fmt == "html":
        return html_out.render(reports, lang)
    raise ValueError(f"no text renderer for {fmt!r}")
