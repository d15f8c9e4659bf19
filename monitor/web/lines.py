"""The overview's rows as ready-to-show text: a NOC screen draws 1,000 of them every few
seconds, so each is made here once, in Python, and the template only places them (every
value still escaped there)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from monitor.web.format import DEMARCS, ROUTERS, Fmt
from monitor.web.views import OverviewRow, PathStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """``dots``: the 2×2's states in a fixed order (``none`` where there is no such path);
    ``incident`` None or its id with ``since`` and either ``notified`` or ``until`` (ISO, for
    the script) and ``left`` (the countdown as it reads now)."""

    id: str
    health: str
    label: str
    customer: str
    dots: tuple[str, ...]
    title: str
    rtt: str
    incident: int | None = None
    since: str = ""
    notified: str = ""
    until: str = ""
    left: str = ""


def line(row: OverviewRow, fmt: Fmt, customer: str, now: datetime) -> Line:
    dots = _dots(row.paths)
    i = row.incident
    base = Line(
        id=row.id,
        health=row.health.value,
        label=fmt.t(row.health.value),
        customer=customer,
        dots=dots,
        title=_title(dots, fmt),
        rtt=fmt.ms(row.rtt_ms),
    )
    if i is None:
        return base
    return Line(
        id=base.id, health=base.health, label=base.label, customer=customer, dots=dots,
        title=base.title, rtt=base.rtt, incident=i.id, since=fmt.clock(i.start, row.timezone),
        notified=fmt.clock(i.notified, row.timezone) if i.notified else "",
        until=i.deadline.isoformat() if i.deadline and not i.notified else "",
        left=fmt.left(i.deadline, now) if i.deadline and not i.notified else "",
    )  # fmt: skip


def _dots(paths: tuple[PathStatus, ...]) -> tuple[str, ...]:
    by = {(p.router, p.demarc): p.state for p in paths}
    return tuple(by.get((r, d), "none") for r in ROUTERS for d in DEMARCS)


@functools.cache
def _words(lang: str, dots: tuple[str, ...], says: tuple[str, ...]) -> str:
    pairs = [f"{r}/{d}" for r in ROUTERS for d in DEMARCS]
    return ", ".join(f"{p}: {w}" for p, s, w in zip(pairs, dots, says, strict=True) if s != "none")


def _title(dots: tuple[str, ...], fmt: Fmt) -> str:
    return _words(fmt.lang, dots, tuple(fmt.t(s) for s in dots))
