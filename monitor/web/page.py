"""The status page: server-rendered HTML for a NOC wall screen and a phone.

No build step, no external assets: inline CSS and a few lines of script that tick the
countdowns between reloads (every 5 s). Every value from configuration or operators is
escaped; state is shown by words as well as colours. :data:`POLICY` (the page's
Content-Security-Policy) allows exactly that style and that script, by hash, and nothing
else: no style attribute, no other script, no fetch, no frame.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class PathStatus:
    router: str
    demarc: str
    state: str  # up | down | unknown
    since: datetime | None
    rtt_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident:
    id: int
    start: datetime
    detected: datetime
    deadline: datetime | None
    notified: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpcomingWindow:
    """A maintenance window not yet over: ``announced_at`` is when the customer was told;
    ``late``: recorded after it began (it excludes time retroactively)."""

    start: datetime
    end: datetime
    note: str
    announced_at: datetime
    late: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitStatus:
    id: str
    timezone: str
    available: bool
    paths: tuple[PathStatus, ...]
    incident: OpenIncident | None
    days: tuple[tuple[date, float | None], ...]  # availability per day, None: no data
    maintenance: tuple[UpcomingWindow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusView:
    generated_at: datetime
    blind: bool
    circuits: tuple[CircuitStatus, ...]


CSS = """
body{font-family:system-ui,sans-serif;margin:0;padding:1rem;background:#111;color:#eee}
h1{font-size:1.3rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:.2rem 0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:1rem}
.card{background:#1d1d1d;border-radius:.5rem;padding:.8rem;border:3px solid #2e7d32}
.card.card-down{border-color:#c62828;background:#2a1414}
.badge{font-weight:700;padding:.1rem .4rem;border-radius:.3rem}
.up{background:#2e7d32}.down{background:#c62828}.unknown{background:#616161}
table.m{width:100%;border-collapse:collapse;margin:.4rem 0}
table.m td,table.m th{border:1px solid #333;padding:.35rem;text-align:center}
.inc{background:#3b1111;padding:.5rem;border-radius:.3rem;margin:.4rem 0}
.cd{font-size:1.6rem;font-weight:700;font-variant-numeric:tabular-nums}
.strip{display:flex;gap:2px;margin-top:.4rem}.strip span{flex:1;height:1rem;background:#333}
.strip .ok{background:#2e7d32}.strip .warn{background:#f9a825}.strip .bad{background:#c62828}
.blind{background:#e65100;padding:.5rem;border-radius:.3rem;margin-bottom:.5rem}
small{color:#aaa}
"""

SCRIPT = """
function tick(){const now=Date.now();document.querySelectorAll('[data-until]').forEach(e=>{
let s=Math.round((Date.parse(e.dataset.until)-now)/1000);const neg=s<0;s=Math.abs(s);
const t=Math.floor(s/60)+':'+String(s%60).padStart(2,'0');
e.textContent=neg?('missed by '+t):(t+' left')});
document.querySelectorAll('[data-since]').forEach(e=>{let s=Math.max(0,Math.round((now-
Date.parse(e.dataset.since))/1000));e.textContent=Math.floor(s/3600)+'h '+
Math.floor(s%3600/60)+'m '+s%60+'s'})}
tick();setInterval(tick,1000);setTimeout(()=>location.reload(),5000);
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


POLICY = (
    f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its own inline CSS and script (by hash), nothing else."""


def _t(at: datetime | None, tz: ZoneInfo) -> str:
    return "-" if at is None else escape(at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"))


def _path_cell(p: PathStatus | None, tz: ZoneInfo) -> str:
    if p is None:
        return "<td><span class='badge unknown'>n/a</span></td>"
    rtt = "" if p.rtt_ms is None else f"<br><small>{p.rtt_ms:.2f} ms</small>"
    since = "" if p.since is None else f"<br><small>since {_t(p.since, tz)}</small>"
    state = escape(p.state)
    return f"<td><span class='badge {state}'>{state.upper()}</span>{rtt}{since}</td>"


def _matrix(c: CircuitStatus, tz: ZoneInfo) -> str:
    by = {(p.router, p.demarc): p for p in c.paths}
    routers = sorted({p.router for p in c.paths})
    demarcs = sorted({p.demarc for p in c.paths})
    head = "".join(f"<th>{escape(d)}</th>" for d in demarcs)
    rows = "".join(
        f"<tr><th>{escape(r)}</th>"
        + "".join(_path_cell(by.get((r, d)), tz) for d in demarcs)
        + "</tr>"
        for r in routers
    )
    return f"<table class='m'><tr><th>router \\ demarc</th>{head}</tr>{rows}</table>"


def _incident(i: OpenIncident, tz: ZoneInfo) -> str:
    if i.notified is not None:
        notice = f"customer notified {_t(i.notified, tz)}"
    elif i.deadline is not None:
        notice = (
            f"notify by {_t(i.deadline, tz)}: <span class='cd' "
            f"data-until='{i.deadline.isoformat()}'></span>"
        )
    else:
        notice = "no notification owed (maintenance)"
    return (
        f"<div class='inc'><b>Incident #{i.id}</b> down since {_t(i.start, tz)} "
        f"(<span data-since='{i.start.isoformat()}'></span>)<br>"
        f"detected {_t(i.detected, tz)}<br>{notice}</div>"
    )


def _strip(days: tuple[tuple[date, float | None], ...]) -> str:
    cells = []
    for day, frac in days:
        if frac is None:
            klass, label = "none", "no data"
        else:
            klass = "ok" if frac >= 0.9999 else ("warn" if frac >= 0.99 else "bad")
            label = f"{frac * 100:.3f}%"
        cells.append(f"<span class='{klass}' title='{day}: {label}'></span>")
    return f"<div class='strip' aria-label='last 30 days'>{''.join(cells)}</div>"


def _window(w: UpcomingWindow, tz: ZoneInfo) -> str:
    told = (
        "" if w.announced_at == w.start else f" <small>announced {_t(w.announced_at, tz)}</small>"
    )
    late = " <b>recorded after it began</b>" if w.late else ""
    return f"<li>{_t(w.start, tz)} - {_t(w.end, tz)} {escape(w.note)}{told}{late}</li>"


def _circuit(c: CircuitStatus) -> str:
    tz = ZoneInfo(c.timezone)
    state = "up" if c.available else "down"
    word = "AVAILABLE" if c.available else "UNAVAILABLE"
    maint = "".join(_window(w, tz) for w in c.maintenance)
    return (
        f"<section class='card card-{state}'><h2>{escape(c.id)} "
        f"<span class='badge {state}'>{word}</span></h2>{_matrix(c, tz)}"
        + (_incident(c.incident, tz) if c.incident else "")
        + f"<small>last 30 days</small>{_strip(c.days)}"
        + (f"<small>maintenance</small><ul>{maint}</ul>" if maint else "")
        + "</section>"
    )


def render_page(view: StatusView) -> str:
    """The whole page as one HTML document."""
    blind = (
        (
            "<div class='blind'>MONITOR BLIND: a control target is down; outages cannot be "
            "told from the monitor's own isolation.</div>"
        )
        if view.blind
        else ""
    )
    down = sum(not c.available for c in view.circuits)
    title = f"slawatch: {down} down" if down else "slawatch: all available"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{blind}<div class='grid'>"
        + "".join(_circuit(c) for c in view.circuits)
        + f"</div><p><small>generated {escape(view.generated_at.isoformat())} UTC"
        f"</small></p><script>{SCRIPT}</script></body></html>"
    )
