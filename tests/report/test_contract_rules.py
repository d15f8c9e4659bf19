"""The rules corrected on 2026-12-01 (SLA.md §1, §3, §6.2) through every door at once:
``slawatch replay``, ``slawatch report --format json`` (from the events and from a journal)
and ``GET /api/sla`` served by the daemon's backend over that journal agree on each of them.

One circuit, base ¥300,000 + static NAT ¥45,000, probed every minute, October 2026 (JST):
  O1 10-03 10:00-11:15  75 min, never notified: 1/30 of the base + 1/30 of base + NAT
  O2 10-10 02:00-04:00  a window over all of it announced 40 minutes in: 40 min count (1/90)
  O3 10-17 02:00-04:00  the same window announced a day earlier: nothing counts, no notice owed
  O4 10-24 00:00-01:40  two overlapping windows, each from its announcement: 30 min count (0)
  O5 10-28 10:05        a voided outage (a path's recovery began before it): no notice owed
-> 1/30 + 23/600 + 1/90 = 149/1800 of the base fee = ¥24,833 (rounded down once).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor import config
from monitor.cli import main
from monitor.core import replay
from monitor.service.offline import Offline
from monitor.store.sqlite import open_sqlite
from monitor.web import make_app
from tests.report.scenario import record

PATHS = ("active/primary", "active/secondary", "standby/primary", "standby/secondary")
AP, AS, SP, SS = PATHS
MIN = timedelta(minutes=1)
NOW = "2026-11-05T00:00:00+09:00"

CONFIG = """\
journal: {journal}
circuits:
  - id: c-nat
    monthly_fee_yen: 300000
    static_nat_fee_yen: 45000
    contacts: [noc@example.com]
    paths:
      - {{router: active,  demarc: primary,   address: 198.18.1.2}}
      - {{router: active,  demarc: secondary, address: 198.18.2.2}}
      - {{router: standby, demarc: primary,   address: 198.18.3.2}}
      - {{router: standby, demarc: secondary, address: 198.18.4.2}}
    maintenance:
      - {{start: "2026-10-10T02:00+09:00", end: "2026-10-10T04:00+09:00",
          announced_at: "2026-10-10T02:40+09:00", note: told late}}
      - {{start: "2026-10-17T02:00+09:00", end: "2026-10-17T04:00+09:00",
          announced_at: "2026-10-16T02:00+09:00", note: told a day ahead}}
      - {{start: "2026-10-24T00:00+09:00", end: "2026-10-24T01:00+09:00",
          announced_at: "2026-10-24T00:30+09:00"}}
      - {{start: "2026-10-24T00:20+09:00", end: "2026-10-24T01:30+09:00",
          announced_at: "2026-10-24T00:00+09:00"}}
"""


def jst(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+09:00")


def probe(at: datetime, path: str, ok: bool) -> tuple[datetime, str]:
    line = {"t": at.isoformat(), "kind": "probe", "circuit": "c-nat", "path": path, "ok": ok}
    return at, json.dumps(line)


def outage(start: str, end: str, notified: str | None) -> list[tuple[datetime, str]]:
    """Every path fails each minute from ``start`` and answers again from ``end``."""
    s, e = jst(start), jst(end)
    out = [probe(s - MIN, p, True) for p in PATHS]
    for p in PATHS:
        out += [probe(s + k * MIN, p, False) for k in range(3)]
        out += [probe(e + k * MIN, p, True) for k in range(2)]
    if notified:
        line = {"t": jst(notified).isoformat(), "kind": "notified", "circuit": "c-nat"}
        out.append((jst(notified), json.dumps(line)))
    return out


def voided(at: str) -> list[tuple[datetime, str]]:
    """AP, AS, SP down from t+1; SS fails from t+5 (down at t+7: the outage starts at t+5);
    AP answers from t+5, so at t+7 it is up since t+5: the outage ends as it starts."""
    t = jst(at)
    out = [probe(t, p, True) for p in PATHS]
    out += [probe(t + k * MIN, p, False) for k in (1, 2, 3, 4) for p in (AP, AS, SP)]
    out += [probe(t + 4 * MIN, SS, True)]
    out += [probe(t + k * MIN, SS, False) for k in (5, 6, 7)]
    out += [probe(t + k * MIN, AP, True) for k in (5, 7)]
    return out


def events() -> list[str]:
    lines = [probe(jst("2026-10-01T00:00"), p, True) for p in PATHS]
    lines += outage("2026-10-03T10:00", "2026-10-03T11:15", None)
    lines += outage("2026-10-10T02:00", "2026-10-10T04:00", "2026-10-10T02:10")
    lines += outage("2026-10-17T02:00", "2026-10-17T04:00", "2026-10-17T02:10")
    lines += outage("2026-10-24T00:00", "2026-10-24T01:40", "2026-10-24T00:10")
    lines += voided("2026-10-28T10:00")
    end = jst("2026-11-05T00:00")
    lines.append((end, json.dumps({"t": end.isoformat(), "kind": "end"})))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("rules")
    cfg = tmp / "slawatch.yaml"
    cfg.write_text(CONFIG.format(journal=tmp / "journal.db"), encoding="utf-8")
    lines = events()
    (tmp / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    journal = open_sqlite(tmp / "journal.db")
    try:
        journal.started(jst("2026-09-30T00:00"))
        record(config.load(cfg), lines, journal)
    finally:
        journal.close()
    return cfg, tmp / "events.jsonl"


def report_json(tmp: Path, *args: str) -> dict[str, Any]:
    out = tmp / "r.json"
    assert main(["report", "--format", "json", "--month", "2026-10", "-o", str(out), *args]) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


async def api_sla(cfg: Path) -> dict[str, Any]:
    """GET /api/sla from the service's backend over the journal (a supervisor resumed
    read-only from it, as the offline CLI does)."""
    settings = config.load(cfg)
    now = datetime.fromisoformat(NOW).astimezone(UTC)
    offline = await Offline.open(settings.plan(), str(settings.journal), wall=lambda: now)
    try:
        async with TestClient(TestServer(make_app(offline.backend, None, token=None))) as c:
            r = await c.get("/api/sla?month=2026-10")
            assert r.status == 200
            body: dict[str, Any] = await r.json()
            return body
    finally:
        await offline.close()


EXPECTED = [  # (start, counted_s, credit, notify_deadline, notify_breach, notify_credit)
    ("2026-10-03T10:00:00+09:00", 75 * 60.0, "1/30", "2026-10-03T10:32:00+09:00", True, "23/600"),
    ("2026-10-10T02:00:00+09:00", 40 * 60.0, "1/90", "2026-10-10T02:32:00+09:00", False, "0"),
    ("2026-10-17T02:00:00+09:00", 0.0, "0", None, False, "0"),
    ("2026-10-24T00:00:00+09:00", 30 * 60.0, "0", "2026-10-24T00:32:00+09:00", False, "0"),
    ("2026-10-28T10:05:00+09:00", 0.0, "0", None, False, "0"),
]


def figures(incidents: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("start", "counted_s", "credit", "notify_deadline", "notify_breach", "notify_credit")
    return [tuple(i[k] for k in keys) for i in incidents]


async def test_replay_report_and_api_agree_on_the_corrected_rules(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    cfg, events_file = files
    settings = config.load(cfg)
    with events_file.open(encoding="utf-8") as fh:
        replayed = replay.summary(settings.plan(), replay.run(settings.plan(), fh))
    from_events = report_json(tmp_path, "--config", str(cfg), "--events", str(events_file))
    from_journal = report_json(tmp_path, "--config", str(cfg), "--now", NOW)
    api = await api_sla(cfg)

    assert figures(replayed["incidents"]) == EXPECTED
    for doc in (from_events, from_journal, api):
        assert figures(doc["incidents"]) == EXPECTED
        [month] = doc["circuits"]
        assert (month["credit"], month["credit_yen"]) == ("149/1800", 24_833)
    [october] = [m for m in replayed["months"] if m["month"] == "2026-10"]
    assert (october["credit"], october["credit_yen"]) == ("149/1800", 24_833)
    assert from_journal["incidents"] == api["incidents"]
    # the report's own additions: the claims' shares of the capped total add up to it
    shares = [c["share_yen"] for c in from_journal["circuits"][0]["claims"]]
    assert sum(shares) == 24_833 and sorted(shares) == [3_333, 10_000, 11_500]
    windows = from_journal["circuits"][0]["maintenance"]
    assert [w["announced_at"] for w in windows][:2] == [
        "2026-10-10T02:40:00+09:00",
        "2026-10-16T02:00:00+09:00",
    ]
    assert [w["recorded_late"] for w in windows] == [True, False, True, False]
