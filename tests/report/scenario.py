"""October 2026 on two circuits, recorded the way the daemon records it: every case the
month report has to get right, in one journal (and as replay events).

er-tokyo-1 (¥300,000; config maintenance 10-05 01:00-05:00, one window added via the API):
  #T1 10-05 00:40-01:30  mostly inside the configured maintenance: counted 20 min, no credit
  #T2 10-07 10:02-10:33  31 min: 1/90
  #T3 10-12 02:00-04:00  never notified: 1/30 + the breach's 1/30
  #T4 10-15 09:00-22:00  13 h, excluded (a hostile reason: markup, a table pipe)
  #T5 10-20 05:00-07:30  detected inside the API window (00:00-06:00, hostile note):
                         counted 1.5 h (1/30), the notice clock starts at 06:00
  #T6 10-22 11:00-19:00  the daemon was not running 12:00-18:00 (an unmonitored gap): 1/30
  #T7 10-31 23:50-11-02 03:50  across the month end, 28 h: 1/5 to October
er-osaka-2 (¥123,457: the cap in odd yen):
  #O1 10-01 00:30-01:45  1/30 (claim expired by the report's "now")
  #O2 10-03 06:00-10-11 06:00  8 days: 1/2
  #O3 10-13 12:00-10-18 12:00  5 days: 1/3, never notified: + 1/30
  #O4 10-25 00:10-10-27 00:10  2 days: 1/5, begun while the monitor was blind (00:00-00:30)
  -> 33/30 of the fee: capped at 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import config
from monitor.core.model import MaintenanceWindow, PathKey
from monitor.core.tracker import Tracker
from monitor.store.sql import SqlStore
from monitor.store.sqlite import open_sqlite

HOSTILE_REASON = "Customer <b>power</b> outage | rack 3 <script>alert(1)</script>"
HOSTILE_NOTE = "fibre work <img src=x onerror=alert(1)> & splice"
NOW = "2027-01-02T10:00:00+09:00"
PATHS = ("active/primary", "active/secondary", "standby/primary", "standby/secondary")
MIN = timedelta(minutes=1)

CONFIG = """\
timezone: Asia/Tokyo
fail_after: 3
recover_after: 2
journal: {journal}
control_targets:
  - {{name: noc-gw, address: 127.0.0.1}}
circuits:
  - id: er-tokyo-1
    monthly_fee_yen: 300000
    contacts: [noc@example.com]
    paths:
      - {{router: active,  demarc: primary,   address: 198.18.1.2}}
      - {{router: active,  demarc: secondary, address: 198.18.2.2}}
      - {{router: standby, demarc: primary,   address: 198.18.3.2}}
      - {{router: standby, demarc: secondary, address: 198.18.4.2}}
    maintenance:
      - {{start: "2026-10-05T01:00:00+09:00", end: "2026-10-05T05:00:00+09:00", note: planned}}
  - id: er-osaka-2
    monthly_fee_yen: 123457
    contacts: [{{address: ops@example.com, lang: en}}]
    paths:
      - {{router: active,  demarc: primary,   address: 198.18.5.2}}
      - {{router: active,  demarc: secondary, address: 198.18.6.2}}
      - {{router: standby, demarc: primary,   address: 198.18.7.2}}
      - {{router: standby, demarc: secondary, address: 198.18.8.2}}
"""

# (circuit, start, end, notified at or None), JST
OUTAGES = (
    ("er-tokyo-1", "2026-10-05T00:40", "2026-10-05T01:30", "2026-10-05T00:50"),
    ("er-tokyo-1", "2026-10-07T10:02", "2026-10-07T10:33", "2026-10-07T10:10"),
    ("er-tokyo-1", "2026-10-12T02:00", "2026-10-12T04:00", None),
    ("er-tokyo-1", "2026-10-15T09:00", "2026-10-15T22:00", "2026-10-15T09:05"),
    ("er-tokyo-1", "2026-10-20T05:00", "2026-10-20T07:30", "2026-10-20T06:10"),
    ("er-tokyo-1", "2026-10-22T11:00", "2026-10-22T19:00", "2026-10-22T11:10"),
    ("er-tokyo-1", "2026-10-31T23:50", "2026-11-02T03:50", "2026-10-31T23:59"),
    ("er-osaka-2", "2026-10-01T00:30", "2026-10-01T01:45", "2026-10-01T00:40"),
    ("er-osaka-2", "2026-10-03T06:00", "2026-10-11T06:00", "2026-10-03T06:10"),
    ("er-osaka-2", "2026-10-13T12:00", "2026-10-18T12:00", None),
    ("er-osaka-2", "2026-10-25T00:10", "2026-10-27T00:10", "2026-10-25T00:40"),
)
STARTED = "2026-09-30T00:00"
BLIND = ("2026-10-25T00:00", "2026-10-25T00:30")
GAP = ("2026-10-22T12:00", "2026-10-22T18:00")
API_WINDOW = ("2026-10-20T00:00", "2026-10-20T06:00")
EXCLUDED_START = "2026-10-15T09:00"


def jst(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}:00+09:00")


def _line(at: datetime, kind: str = "probe", **kw: object) -> tuple[datetime, str]:
    return at, json.dumps({"t": at.isoformat(), "kind": kind, **kw})


def events() -> list[str]:
    """Sparse probe events: a first probe of every path when the daemon starts (09-30, so
    October is monitored from its first day: SLA.md §6.8); then three failures (down from
    the first), two successes (up from the first), per path and outage; the control target
    likewise; notices; a final ``end``."""
    out: list[tuple[datetime, str]] = [
        _line(jst(STARTED), circuit=circuit, path=p, ok=True)
        for circuit in ("er-tokyo-1", "er-osaka-2")
        for p in PATHS
    ]
    for circuit, start, end, notified in OUTAGES:
        s, e = jst(start), jst(end)
        for p in PATHS:
            out += [_line(s - 2 * MIN, circuit=circuit, path=p, ok=True)]
            out += [_line(s + k * MIN, circuit=circuit, path=p, ok=False) for k in range(3)]
            out += [_line(e + k * MIN, circuit=circuit, path=p, ok=True) for k in range(2)]
        if notified:
            out.append(_line(jst(notified), "notified", circuit=circuit))
    b0, b1 = jst(BLIND[0]), jst(BLIND[1])
    out += [_line(b0 + k * MIN, "control", target="noc-gw", ok=False) for k in range(3)]
    out += [_line(b1 + k * MIN, "control", target="noc-gw", ok=True) for k in range(2)]
    out.append(_line(jst("2026-11-05T00:00"), "end"))
    return [line for _, line in sorted(out, key=lambda pair: pair[0])]


def write_config(tmp: Path) -> Path:
    path = tmp / "slawatch.yaml"
    path.write_text(CONFIG.format(journal=tmp / "journal.db"), encoding="utf-8")
    return path


def record(settings: config.Settings, lines: Iterable[str], journal: SqlStore) -> None:
    """What the daemon would have journalled: the tracker's events for every line."""
    plan = settings.plan()
    tracker = Tracker(
        [plan.spec(c) for c in plan.circuits],
        controls=[t.name for t in plan.controls],
        fail_after=plan.fail_after,
        recover_after=plan.recover_after,
    )
    for line in lines:
        obj = json.loads(line)
        at = datetime.fromisoformat(obj["t"]).astimezone(UTC)
        if obj["kind"] == "probe":
            key = PathKey.parse(obj["circuit"], obj["path"])
            journal.record(tracker.observe(key, at, obj["ok"]))
        elif obj["kind"] == "control":
            journal.record(tracker.observe_control(obj["target"], at, obj["ok"]))
        elif obj["kind"] == "notified":
            journal.record(tracker.notified(obj["circuit"], at))


def build(tmp: Path) -> tuple[Path, Path, Path]:
    """Config, journal and events files for the scenario under ``tmp``."""
    cfg = write_config(tmp)
    settings = config.load(cfg)
    lines = events()
    events_file = tmp / "events.jsonl"
    events_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    journal = open_sqlite(tmp / "journal.db")
    try:
        fill(journal, settings, lines)
    finally:
        journal.close()
    return cfg, tmp / "journal.db", events_file


def fill(journal: SqlStore, settings: config.Settings, lines: Iterable[str]) -> None:
    """The scenario's journal: runs and a gap, the recorded events, an API window and an
    exclusion."""
    journal.started(jst(STARTED))
    journal.stopped(jst(GAP[0]))
    journal.started(jst(GAP[1]))
    record(settings, lines, journal)
    window = MaintenanceWindow(start=jst(API_WINDOW[0]), end=jst(API_WINDOW[1]), note=HOSTILE_NOTE)
    journal.add_window("er-tokyo-1", window, "api", jst("2026-10-19T12:00"))
    [excluded] = [i for i in journal.incidents() if i.start == jst(EXCLUDED_START)]
    journal.exclude(excluded.id, HOSTILE_REASON, jst("2026-10-16T10:00"))
