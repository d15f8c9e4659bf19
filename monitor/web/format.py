"""How the pages show values: one :class:`Fmt` per request, in its language, handed to the
templates as ``fmt`` (and its ``t`` as ``t``). Times in the circuit's timezone; durations
``H:MM:SS`` as the report shows them; availability rounded down to 3 decimals (99.9996 %
never reads 100 %); yen rounded down (core/sla.py). The sparkline is drawn here, as SVG
coordinates the template puts in attributes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.core import sla
from monitor.web.views import PathStatus, RttPoint
from monitor.web.words import JA

Lang = Literal["ja", "en"]
ROUTERS = ("active", "standby")
DEMARCS = ("primary", "secondary")
SPARK_W, SPARK_H = 288, 36
DAY = timedelta(days=1)


@functools.cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Spark:
    """A day of RTTs as SVG coordinates: ``avg`` a polyline's points, ``bars`` each bucket's
    min..max as (x, y, height), ``lost`` the x of each bucket with no answer at all;
    ``top_ms`` the scale."""

    avg: str
    bars: tuple[tuple[float, float, float], ...]
    lost: tuple[float, ...]
    top_ms: float
    lo_ms: float | None
    avg_ms: float | None
    hi_ms: float | None


class Fmt:
    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def t(self, text: str) -> str:
        """``text`` (English) in the page's language."""
        return JA.get(text, text) if self.lang == "ja" else text

    def time(self, at: datetime | None, tz: str, *, seconds: bool = True) -> str:
        """``2026-10-07 10:05:03 JST`` in the zone named ``tz``; ``-`` for None."""
        if at is None:
            return "-"
        local = at.astimezone(zone(tz))
        return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")

    def clock(self, at: datetime | None, tz: str) -> str:
        """``10-07 10:05``: a compact cell."""
        if at is None:
            return "-"
        t = at.astimezone(zone(tz))
        return f"{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"

    def local_input(self, at: datetime, tz: str) -> str:
        """A ``datetime-local`` input's value in ``tz``."""
        return at.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")

    def iso(self, at: datetime) -> str:
        return at.isoformat()

    def dur(self, seconds: float | None) -> str:
        """``H:MM:SS`` (hours may exceed 24); ``-`` for None."""
        if seconds is None:
            return "-"
        whole = max(int(seconds), 0)
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"

    def left(self, deadline: datetime, now: datetime) -> str:
        """``12:05 left`` or ``missed by 0:40``, as the script keeps it ticking."""
        s = int((deadline - now).total_seconds())
        text = f"{abs(s) // 60}:{abs(s) % 60:02d}"
        return f"{text} {self.t('left')}" if s >= 0 else f"{self.t('missed by')} {text}"

    def ms(self, value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"

    def yen(self, amount: int) -> str:
        return f"¥{amount:,}"

    def credit(self, fraction: Fraction, fee_yen: int) -> str:
        """``1/30 (¥10,000)``; ``0`` for none."""
        return "0" if not fraction else f"{fraction} ({self.yen(sla.yen(fee_yen, fraction))})"

    def pct(self, value: Fraction | None) -> str:
        if value is None:
            return self.t("no data")
        thousandths = int(value * 100_000)
        return f"{thousandths // 1000}.{thousandths % 1000:03d} %"

    def day_pct(self, value: float | None) -> str:
        return self.t("no data") if value is None else f"{value * 100:.3f} %"

    def day_class(self, value: float | None) -> str:
        if value is None:
            return "none"
        return "ok" if value >= 0.9999 else "warn" if value >= 0.99 else "bad"

    def grid(self, paths: Sequence[PathStatus]) -> list[PathStatus | None]:
        """The 2×2 in a fixed order (active/primary, active/secondary, standby/...); None
        where the circuit has no such path."""
        by = {(p.router, p.demarc): p for p in paths}
        return [by.get((r, d)) for r in ROUTERS for d in DEMARCS]

    def spark(self, points: Sequence[RttPoint], now: datetime) -> Spark | None:
        """The last day of ``points`` on a :data:`SPARK_W` × :data:`SPARK_H` canvas."""
        if not points:
            return None
        answered = [p for p in points if p.max_ms is not None]
        top = max((p.max_ms or 0.0 for p in answered), default=0.0) or 1.0
        start = now - DAY

        def x(at: datetime) -> float:
            return round(max(0.0, (at - start) / DAY) * SPARK_W, 1)

        def y(ms: float | None) -> float:
            return round(SPARK_H - 2 - (ms or 0.0) / top * (SPARK_H - 4), 1)

        total = sum(p.answered for p in answered)
        return Spark(
            avg=" ".join(f"{x(p.at)},{y(p.avg_ms)}" for p in answered),
            bars=tuple(
                (min(x(p.at), SPARK_W - 2), y(p.max_ms), max(y(p.min_ms) - y(p.max_ms), 1.5))
                for p in answered
            ),
            lost=tuple(x(p.at) for p in points if p.lost and not p.answered),
            top_ms=top,
            lo_ms=min((p.min_ms or 0.0 for p in answered), default=None),
            avg_ms=sum((p.avg_ms or 0.0) * p.answered for p in answered) / total if total else None,
            hi_ms=max((p.max_ms or 0.0 for p in answered), default=None),
        )
