"""Plain text for a terminal: a block per circuit with its figures and an aligned table.

Columns are padded by display width (a Japanese character takes two columns), so the table
lines up in a terminal with a monospaced font.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.core.model import Lang
from monitor.core.report import CircuitMonth, MonthReport, Source
from monitor.report import cells
from monitor.report.cells import Words, pad, width


def table(head: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns two spaces apart; no trailing spaces."""
    grid = [head, *rows]
    widths = [[width(cell) for cell in r] for r in grid]
    cols = [max(col) for col in zip(*widths, strict=True)]
    return [
        (
            indent + "  ".join(c + " " * (n - w) for c, w, n in zip(r, ws, cols, strict=True))
        ).rstrip()
        for r, ws in zip(grid, widths, strict=True)
    ]


def _circuit(w: Words, c: CircuitMonth) -> list[str]:
    out = [f"{w('circuit')} {c.circuit}", "=" * (width(w("circuit")) + 1 + len(c.circuit))]
    pairs = cells.summary(w, c)
    label = max(width(k) for k, _ in pairs)
    out += [f"  {pad(k, label)}  {v}".rstrip() for k, v in pairs]
    out.append("")
    if c.entries:
        out += table(cells.header(w), [cells.row(w, c, e) for e in c.entries])
    else:
        out.append(f"  {w('no_incidents')}")
    for key, lines in (
        ("exclusions", cells.exclusion_lines(w, c)),
        ("gaps", cells.gap_lines(w, c)),
        ("maintenance_list", cells.maintenance_lines(w, c)),
    ):
        if lines:
            out += ["", f"  {w(key)}", *(f"    {line}" for line in lines)]
    claims = cells.claim_rows(w, c)
    if claims:
        out += ["", f"  {w('claims')}", *table(cells.claim_header(w), claims, "    ")]
    return out


def part(r: MonthReport, lang: Lang) -> str:
    """One month's part of the document."""
    w = Words(lang)
    out = [f"{cells.title(w, r.month)} ({cells.as_of(w, r)})", ""]
    for c in r.circuits:
        out += [*_circuit(w, c), ""]
    return "\n".join(out)


def assemble(parts: Sequence[str], source: Source | None, lang: Lang) -> list[str]:
    """The document of the months' ``parts`` (in order), with the footer naming ``source``,
    as pieces to write one after the other."""
    return [*(piece for p in parts for piece in (p, "\n")), cells.footer(Words(lang), source)]
