"""Markdown (CommonMark with GitHub tables): a section per circuit, for tickets and wikis.

Text from outside (maintenance notes, exclusion reasons) is escaped so it can neither break
a table nor smuggle in HTML or links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.core.model import Lang
from monitor.core.report import CircuitMonth, MonthReport, Source
from monitor.report import cells
from monitor.report.cells import Words

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape(text: str) -> str:
    """Inline Markdown for untrusted text: one line; emphasis, code, link and table
    punctuation backslash-escaped; ``<`` and ``&`` as entities (Markdown passes raw HTML)."""
    one_line = " ".join(text.split())
    return _SPECIAL.sub(r"\\\1", one_line.replace("&", "&amp;").replace("<", "&lt;"))


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        *("| " + " | ".join(escape(cell) for cell in r) + " |" for r in rows),
    ]


def _circuit(w: Words, c: CircuitMonth) -> list[str]:
    out = [f"## {w('circuit')} {escape(c.circuit)}", ""]
    out += [f"- **{k}**: {escape(v)}" if k else f"- {escape(v)}" for k, v in cells.summary(w, c)]
    out.append("")
    if c.entries:
        out += table(cells.header(w), [cells.row(w, c, e) for e in c.entries])
    else:
        out.append(escape(w("no_incidents")))
    for key, lines in (
        ("exclusions", cells.exclusion_lines(w, c)),
        ("gaps", cells.gap_lines(w, c)),
        ("maintenance_list", cells.maintenance_lines(w, c)),
    ):
        if lines:
            out += ["", f"### {w(key)}", "", *(f"- {escape(line)}" for line in lines)]
    claims = cells.claim_rows(w, c)
    if claims:
        out += ["", f"### {w('claims')}", "", *table(cells.claim_header(w), claims)]
    return out


def part(r: MonthReport, lang: Lang) -> str:
    """One month's part of the document."""
    w = Words(lang)
    out = [f"# {escape(cells.title(w, r.month))}", "", escape(cells.as_of(w, r)), ""]
    for c in r.circuits:
        out += [*_circuit(w, c), ""]
    return "\n".join(out)


def assemble(parts: Sequence[str], source: Source | None, lang: Lang) -> list[str]:
    """The document of the months' ``parts`` (in order), with the footer naming ``source``,
    as pieces to write one after the other."""
    footer = f"---\n\n{escape(cells.footer(Words(lang), source))}"
    return [*(piece for p in parts for piece in (p, "\n")), footer]
