"""The months of ``slawatch report``, each made and drawn on its own, in parallel processes.

A month's part of a document (:func:`monitor.report.render_part`) depends on nothing but its
own month report, so the months of a range are independent work: a year of 1,000 circuits is
twelve pieces of a few hundred milliseconds each. :func:`draw` hands them to worker processes
forked from this one, which inherit the :class:`Job` (the journal's windows and intervals,
read once) instead of receiving it, read their months' incidents themselves (a year of them
is most of the reading: done in parallel, each month by the process that draws it), and send
back only the drawn text and the few incidents no report can price; the month reports never
cross a process boundary (pickling them costs more than making them). The parts come back in
order, so the document is the same bytes with one process or many.

Workers are forked (Linux), so only from a process that runs no other thread (a fork copies
one thread of several and the others' locks with it); elsewhere, and with ``jobs`` 1, the
months are drawn here one after the other. Workers run at a lower priority (nice +10): a
report on the NOC host must not take the CPU from the daemon's probes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.assess import CircuitTerms
from monitor.core.errors import MonitorError
from monitor.core.model import Announced, Interval, Lang, Withdrawal
from monitor.core.report import Source, month_report
from monitor.core.tracker import Incident
from monitor.report import render_part

NICE = 10
"""How much lower the workers' priority is than the command's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What the parts of ``months`` are drawn from: the months' incidents (``incidents(month)``
    holds at least those that touch it; called in the process that draws the month), the
    circuits' terms, the monitor's intervals and windows, the exclusions withdrawn, "as of"
    ``now``, in format ``fmt`` and language ``lang``. ``circuits``: only these (None: every
    circuit in ``terms``)."""

    months: Sequence[str]
    fmt: str
    lang: Lang
    terms: Mapping[str, CircuitTerms]
    now: datetime
    circuits: Sequence[str] | None
    incidents: Callable[[str], Sequence[Incident]]
    blind: Sequence[Interval] = ()
    gaps: Sequence[Interval] = ()
    announced: Sequence[Announced] = ()
    first_seen: Mapping[str, datetime] = field(default_factory=dict)
    source: Source | None = None
    withdrawn: Sequence[Withdrawal] = ()

    @property
    def shown(self) -> int:
        """How many circuits each month shows."""
        return len(self.terms) if self.circuits is None else len(self.circuits)


@dataclass(frozen=True, slots=True, kw_only=True)
class Drawn:
    """A month's part of the document, and the month's incidents that no report can price
    (:func:`unpriced`), for the command to name."""

    text: str
    unpriced: Sequence[Incident] = ()


def part(job: Job, k: int) -> Drawn:
    """The ``k``-th month's part of the document."""
    month = job.months[k]
    incidents = job.incidents(month)
    report = month_report(
        month,
        incidents=incidents,
        terms=job.terms,
        now=job.now,
        blind=job.blind,
        gaps=job.gaps,
        announced=job.announced,
        circuits=job.circuits,
        first_seen=job.first_seen,
        source=job.source,
        withdrawn=job.withdrawn,
    )
    alone = len(job.months) == 1
    text = render_part(report, job.fmt, job.lang, alone=alone, first=k * job.shown)
    return Drawn(text=text, unpriced=unpriced(incidents, job.terms))


def unpriced(incidents: Iterable[Incident], terms: Mapping[str, CircuitTerms]) -> list[Incident]:
    """Those of ``incidents`` no report can price: of a circuit neither configured nor
    retired, or of a retired one that began at or after its ``retired_at``."""
    out = []
    for i in incidents:
        t = terms.get(i.circuit)
        if t is None or (t.retired_at is not None and i.start >= t.retired_at):
            out.append(i)
    return out


def draw(job: Job, jobs: int, step: Callable[[str], None]) -> list[Drawn]:
    """Every month's part, in order, with up to ``jobs`` processes; ``step(month)`` as each
    one is done."""
    if jobs <= 1 or len(job.months) <= 1 or not _may_fork():
        out = []
        for k, month in enumerate(job.months):
            out.append(part(job, k))
            step(month)
        return out
    global _JOB
    _JOB = job
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_lower) as pool:
            out = []
            for k, text in enumerate(pool.map(_part, range(len(job.months)))):
                out.append(text)
                step(job.months[k])
            return out
    except BrokenProcessPool:
        raise MonitorError(
            "a process drawing the report's months died (out of memory?): run again with "
            "--jobs 1 to draw them one by one in this process"
        ) from None
    finally:
        _JOB = None


_JOB: Job | None = None
"""The job a forked worker draws from (inherited at the fork, never sent)."""


def _part(k: int) -> Drawn:
    assert _JOB is not None, "a worker forked by draw()"
    return part(_JOB, k)


def _lower() -> None:
    os.nice(NICE)


def _may_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
