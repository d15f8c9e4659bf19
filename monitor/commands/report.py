"""``slawatch report``: a month's SLA report per circuit, from the journal or recorded events.

    slawatch report --month YYYY-MM[..YYYY-MM] [--circuit ID] [--format FMT] [--lang ja|en]
                    [--config FILE] [--journal FILE | --events FILE] [--now TIME] [-o OUT]
                    [--jobs N]

The figures are :func:`monitor.core.report.month_report`'s, the same as ``GET /api/sla``
(from the journal, with the maintenance windows announced through the API) or as
``slawatch replay`` (from ``--events``). ``--now`` fixes the "as of" time (default: the
clock; with ``--events``, the last event, as replay does), so a report can be made again
exactly. Progress goes to stderr, and only when stderr is a terminal or ``--progress`` asks.

The journal's windows and intervals are read once; then each month's incidents are read,
and the month made and drawn, on its own (report_parts.py), in parallel processes when there
are several months and CPUs (``--jobs``), and the document is put together in order: the same
bytes however many processes drew it.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from monitor import config
from monitor.clock import utcnow
from monitor.commands.replay import replay_file
from monitor.commands.report_parts import Job, draw
from monitor.core.assess import CircuitTerms
from monitor.core.errors import InputError
from monitor.core.location import is_postgres, journal_name
from monitor.core.model import LANGS
from monitor.core.report import Source, SourceKind, fetch_span, parse_month
from monitor.core.times import parse_instant
from monitor.core.tracker import Incident
from monitor.report import FORMATS, assemble, pdf, pieces
from monitor.store import open_store
from monitor.store.base import Store

MONTH_HELP = "write YYYY-MM (e.g. 2026-10) or a range YYYY-MM..YYYY-MM (e.g. 2026-01..2026-12)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="a month's SLA report per circuit (text, md, csv, ...)")
    p.add_argument("--month", required=True, help=f"the month: {MONTH_HELP}")
    p.add_argument("--circuit", help="only this circuit (default: every configured circuit)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (text)")
    p.add_argument("--lang", choices=LANGS, default="ja", help="language of text/md/html/pdf")
    p.add_argument("--config", help="YAML configuration (default: the built-in demo)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--journal", help="the daemon's journal (default: the config's journal)")
    source.add_argument("--events", help="replay this JSON lines file instead of a journal")
    p.add_argument("--now", help="report as of this time (ISO 8601 with offset)")
    p.add_argument("-o", "--output", help="write here instead of stdout (required for pdf)")
    p.add_argument(
        "--jobs",
        type=int,
        help="processes drawing months at once (default: one per CPU; 1: this process only)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=run)


def months(text: str) -> list[str]:
    """``2026-10`` or ``2026-01..2026-12`` (inclusive) as a list of months."""
    first, sep, last = text.partition("..")
    try:
        lo, hi = parse_month(first), parse_month(last if sep else first)
    except InputError:
        raise InputError(f"--month {text!r}: {MONTH_HELP}") from None
    a, b = lo[0] * 12 + lo[1] - 1, hi[0] * 12 + hi[1] - 1
    if b < a:
        raise InputError(f"--month {text!r}: the range ends before it starts")
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(a, b + 1)]


def _now(text: str | None) -> datetime | None:
    return None if text is None else parse_instant(text, "--now").astimezone(UTC)


class Progress:
    """``slawatch report: 3/12 2026-03`` on one rewritten stderr line, when enabled."""

    def __init__(self, enabled: bool, total: int, stream: TextIO) -> None:
        self.enabled, self.total, self.stream, self.done = enabled, total, stream, 0

    def step(self, what: str) -> None:
        self.done += 1
        if self.enabled:
            self.stream.write(f"\rslawatch report: {self.done}/{self.total} {what}\033[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    wanted = months(args.month)
    now = _now(args.now)
    if args.format == "pdf" and not args.output:
        raise InputError("--format pdf writes a file: give -o FILE.pdf")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give 1 or more (1: no parallel processes)")
    settings = config.load_or_demo(args.config)
    terms = settings.report_terms()
    circuits = None
    if args.circuit is not None:
        if args.circuit not in terms:
            raise InputError(
                f"--circuit {args.circuit!r}: no such circuit in {settings.source} "
                f"(known: {', '.join(terms)}); check --config, or list a circuit no longer "
                "monitored under retired_circuits:"
            )
        circuits = [args.circuit]
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(show, len(wanted) + 1, sys.stderr)
    fmt = "html" if args.format == "pdf" else args.format
    # A year of a thousand circuits is millions of small acyclic objects (frozen values,
    # tuples, strings) that reference counting frees; the cycle collector would only walk
    # them over and over (a third of the run time), so it rests while the report is made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        job = _job(args, settings, wanted, now, circuits, fmt)
        drawn = draw(job, _jobs(args.jobs, len(wanted)), progress.step)
        parts = [d.text for d in drawn]
        progress.step(f"writing {args.format}")
        if args.format == "pdf":
            pdf.print_pdf(assemble(parts, wanted, job.source, fmt, args.lang), Path(args.output))
        else:
            _write(pieces(parts, wanted, job.source, fmt, args.lang), args.output)
    finally:
        progress.close()
        if collecting:
            gc.enable()
    if circuits is None:
        unpriced = [i for d in drawn for i in d.unpriced]
        _warn_unpriced(unpriced, job.terms, settings.source, sys.stderr)
    return 0


def _job(
    args: argparse.Namespace,
    settings: config.Settings,
    wanted: list[str],
    now: datetime | None,
    circuits: list[str] | None,
    fmt: str,
) -> Job:
    """Everything the months' parts are drawn from, read (or replayed) once."""
    terms = settings.report_terms()
    if args.events:
        result = replay_file(settings.plan(), args.events, f"--events {args.events}")
        at = now or result.now
        if at is None:
            raise InputError(f"--events {args.events}: no events, so no time to report as of")
        every = list(result.incidents.values())
        return Job(
            months=wanted, fmt=fmt, lang=args.lang, terms=terms, now=at, circuits=circuits,
            incidents=lambda month: every,
            blind=result.tracker.blind_spans(), first_seen=result.first_seen,
            source=Source(kind=SourceKind.EVENTS, name=Path(args.events).name),
            withdrawn=result.withdrawals,
        )  # fmt: skip
    where: str | Path = args.journal or settings.journal
    password = settings.journal_password_file
    journal = open_journal(where, args.journal, password)
    try:
        only = circuits[0] if circuits else None
        months_of = MonthsOf(where=where, given=args.journal, password=password, circuit=only)
        return Job(
            months=wanted, fmt=fmt, lang=args.lang, terms=terms, now=now or utcnow(),
            circuits=circuits, incidents=months_of,
            blind=journal.blind_intervals(), gaps=journal.gaps(), announced=journal.windows(),
            first_seen=journal.first_results(), withdrawn=journal.withdrawals(),
            source=Source(kind=SourceKind.JOURNAL, name=journal_name(where)),
        )  # fmt: skip
    finally:
        journal.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthsOf:
    """A month's incidents from the journal at ``where`` (only ``circuit``'s, if given), read
    in the process that draws the month, with a connection of its own (none crosses a fork)."""

    where: str | Path
    given: str | None
    password: Path | None
    circuit: str | None

    def __call__(self, month: str) -> list[Incident]:
        journal = open_journal(self.where, self.given, self.password)
        try:
            return journal.incidents(self.circuit, *fetch_span(month))
        finally:
            journal.close()


def _warn_unpriced(
    unpriced: Iterable[Incident], terms: Mapping[str, CircuitTerms], source: str, stream: TextIO
) -> None:
    """Name the circuits of the ``unpriced`` incidents (report_parts.unpriced(): neither
    configured nor retired, or retired before they began), rather than leave them out in
    silence: their credits are owed. Each incident counts once, whatever months it touches."""
    every = {i.id: i for i in unpriced}.values()
    unknown = Counter(i.circuit for i in every if i.circuit not in terms)
    late = Counter(i.circuit for i in every if i.circuit in terms)  # report_parts.unpriced()
    for counts, what, fix in (
        (unknown, f"circuits not in {source}, left out of this report",
         "to price them, list each under retired_circuits: with its monthly_fee_yen and "
         "retired_at"),
        (late, f"retired circuits that began at or after their retired_at in {source} "
         "(outside their service time; in a later month, left out)",
         "check each one's retired_at (when the daemon stopped monitoring it)"),
    ):  # fmt: skip
        if counts:
            listed = ", ".join(f"{c} ({n})" for c, n in sorted(counts.items()))
            stream.write(
                f"slawatch report: warning: the journal holds incidents of {what}: {listed}; "
                f"{fix}\n"
            )


def _jobs(asked: int | None, months: int) -> int:
    """Processes to draw ``months`` months with: as asked, else one per CPU this process may
    use; never more than the months."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(asked or cpus or 1, months))


def open_journal(
    where: str | Path, given: str | None, password_file: Path | None, *, check: bool = False
) -> Store:
    """The journal at ``where`` (``given``: the --journal flag, for messages); InputError if
    a file journal does not exist (reading commands never create one). ``check``: read a
    SQLite file whole for damage first (``slawatch verify``; the daemon does at its start)."""
    check_journal(where, given)
    password = password_file if is_postgres(where) else None
    return open_store(where, password_file=password, check=check, read=True)


def check_journal(where: str | Path, given: str | None) -> None:
    """InputError unless ``where`` is a database URL or an existing journal file."""
    if not is_postgres(where) and not Path(where).is_file():
        flag = "--journal" if given else "the config's journal"
        raise InputError(
            f"{flag} {where}: no such file; name the daemon's journal with --journal FILE "
            "(or set journal: in --config), or replay recorded events with --events FILE"
        )


def _write(chunks: list[str], output: str | None) -> None:
    """The document's pieces one after the other (never joined: a year's page is tens of
    MiB), ending with a line break, to stdout or ``output``."""
    last = next((c for c in reversed(chunks) if c), "")
    ending = [] if last.endswith("\n") else ["\n"]
    if not output:
        sys.stdout.writelines([*chunks, *ending])
        return
    try:
        with open(output, "w", encoding="utf-8") as out:
            out.writelines([*chunks, *ending])
    except OSError as exc:
        raise InputError(f"-o {output}: cannot write: {exc.strerror}") from None
