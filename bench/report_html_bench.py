"""The HTML report's renderer alone, in-process, optionally beside another version of it.

    .venv/bin/python bench/report_html_bench.py [--dir DIR] [--against OLD.py] [--runs N]

Builds in ``DIR`` (or reuses, if it holds one) report_bench.py's journal of 1,000 circuits x
12 months x 4 incidents, makes the year's month reports once (not timed), then times
``monitor.report.render(reports, "html", lang)`` over them ``N`` times: process CPU and wall,
cycle collector off as in ``slawatch report``. With ``--against`` (a module with
``render(reports, lang)``, such as html_out.py before 2026-12-02: ``git show
REV:monitor/report/html_out.py > /tmp/old_html_out.py``), it is timed too,
the two alternating (old first, then new first, ...) because the machine's load drifts; the
last line says whether their pages are the same bytes.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report_bench import write_config, write_journal
from monitor import config
from monitor.core.location import journal_name
from monitor.core.model import Lang
from monitor.core.report import MonthReport, Source, SourceKind, fetch_span, month_report
from monitor.report import render
from monitor.store.sqlite import open_sqlite

NOW = datetime.fromisoformat("2027-01-10T09:00:00+09:00")


def year(where: Path) -> list[MonthReport]:
    """The year 2026 of the journal in ``where``, as ``slawatch report`` makes it."""
    settings = config.load_or_demo(where / "slawatch.yaml")
    terms, journal = settings.terms(), open_sqlite(where / "journal.db")
    try:
        announced, blind = journal.windows(), journal.blind_intervals()
        gaps, first = journal.gaps(), journal.first_results()
        source = Source(kind=SourceKind.JOURNAL, name=journal_name(where / "journal.db"))
        out = []
        for m in range(1, 13):
            month = f"2026-{m:02d}"
            lo, hi = fetch_span(month)
            out.append(
                month_report(
                    month,
                    incidents=journal.incidents(None, lo, hi),
                    terms=terms,
                    now=NOW,
                    blind=blind,
                    gaps=gaps,
                    announced=announced,
                    first_seen=first,
                    source=source,
                )
            )
        return out
    finally:
        journal.close()


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("old_html_out", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(
    render: Callable[[list[MonthReport], Lang], str], reports: list[MonthReport], lang: Lang
) -> tuple[float, float, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    page = render(reports, lang)
    return time.process_time() - cpu, time.perf_counter() - wall, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/slawatch-report-bench"))
    parser.add_argument("--against", type=Path, help="an older html_out.py to time beside")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    args = parser.parse_args()
    if not (args.dir / "journal.db").exists():
        args.dir.mkdir(parents=True, exist_ok=True)
        write_config(args.dir, 1000)
        write_journal(args.dir, 1000, 4)
    gc.disable()
    reports = year(args.dir)
    versions: dict[str, Callable[[list[MonthReport], Lang], str]] = {
        "new": lambda reports, lang: render(reports, "html", lang)
    }
    if args.against:
        versions = {"old": load(args.against).render, **versions}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
    pages: dict[str, str] = {}
    for run in range(args.runs):
        order = list(versions) if run % 2 == 0 else list(reversed(versions))
        for name in order:
            cpu, wall, pages[name] = timed(versions[name], reports, args.lang)
            times[name].append((cpu, wall))
            print(f"run {run + 1} {name}: cpu {cpu:5.2f} s, wall {wall:5.2f} s", flush=True)
    for name, t in times.items():
        cpus = [c for c, _ in t]
        print(
            f"{name}: cpu best {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s; "
            f"wall best {min(w for _, w in t):.2f} s ({len(pages[name]):,} characters)"
        )
    if args.against:
        ratios = [n[0] / o[0] for o, n in zip(times["old"], times["new"], strict=True)]
        print(
            f"new/old cpu, run by run: {' '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.2f}; pages "
            f"{'identical' if pages['old'] == pages['new'] else 'DIFFER'}"
        )


if __name__ == "__main__":
    main()
