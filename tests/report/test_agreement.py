"""The report's JSON figures are the API's and the replay's: one computation, three doors.

- From the journal, ``slawatch report --format json`` against ``GET /api/sla`` served by the
  real service backend over the same journal (the daemon's own view of it: configured terms
  plus the windows announced through the API, the journal's gaps and blind intervals).
- From events, ``slawatch report --events`` against ``slawatch replay``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor import config
from monitor.cli import main
from monitor.core import replay
from monitor.service.offline import Offline
from monitor.web import make_app
from tests.report import scenario


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return scenario.build(tmp_path_factory.mktemp("october"))


def report_json(tmp: Path, *args: str) -> dict[str, Any]:
    out = tmp / "report.json"
    argv = ["report", "--format", "json", "--month", "2026-10", "-o", str(out), *args]
    assert main(argv) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


async def api_sla(cfg: Path, journal_path: Path, now: datetime) -> dict[str, Any]:
    """GET /api/sla served by the service's backend over the journal: the daemon's own view of
    it (configured terms plus the windows announced through the API, the journal's gaps and
    blind intervals), resumed read-only as the offline CLI does."""
    settings = config.load(cfg)
    offline = await Offline.open(settings.plan(), str(journal_path), wall=lambda: now)
    try:
        async with TestClient(TestServer(make_app(offline.backend, None, token=None))) as client:
            r = await client.get("/api/sla?month=2026-10")
            assert r.status == 200
            body: dict[str, Any] = await r.json()
            return body
    finally:
        await offline.close()


def same_where_they_overlap(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Every field of ``theirs`` is in ``mine`` with the same value, to the byte."""
    for key, value in theirs.items():
        assert json.dumps(mine[key], ensure_ascii=False) == json.dumps(value, ensure_ascii=False), (
            key
        )


async def test_report_equals_api_sla(recorded: tuple[Path, Path, Path], tmp_path: Path) -> None:
    cfg, journal, _ = recorded
    mine = report_json(tmp_path, "--config", str(cfg), "--now", scenario.NOW)
    theirs = await api_sla(cfg, journal, datetime.fromisoformat(scenario.NOW))
    assert mine["month"] == theirs["month"] == "2026-10"
    assert len(mine["circuits"]) == len(theirs["circuits"]) == 2
    for m, t in zip(mine["circuits"], theirs["circuits"], strict=True):
        same_where_they_overlap(m, t)
    assert len(mine["incidents"]) == len(theirs["incidents"]) == 11
    assert mine["incidents"] == theirs["incidents"]
    for m, t in zip(mine["incidents"], theirs["incidents"], strict=True):
        same_where_they_overlap(m, t)
    # and the figures are the scenario's
    assert [(c["credit"], c["credit_yen"]) for c in mine["circuits"]] == [
        ("31/90", 103333),
        ("1", 123457),
    ]


def test_report_from_events_equals_replay(
    recorded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    cfg, _, events = recorded
    settings = config.load(cfg)
    with events.open(encoding="utf-8") as fh:
        replayed = replay.summary(settings.plan(), replay.run(settings.plan(), fh))
    mine = report_json(tmp_path, "--config", str(cfg), "--events", str(events))
    october = {m["circuit"]: m for m in replayed["months"] if m["month"] == "2026-10"}
    assert len(october) == len(mine["circuits"]) == 2
    for row in mine["circuits"]:
        same_where_they_overlap(row, october[row["circuit"]])
    by_start = {(i["circuit"], i["start"]): i for i in replayed["incidents"]}
    assert len(mine["incidents"]) == 11
    for incident in mine["incidents"]:
        same_where_they_overlap(incident, by_start[(incident["circuit"], incident["start"])])
    # replay knows nothing of the API's window: #T5's notice, sent at 06:10, is late there
    t5 = by_start[("er-tokyo-1", "2026-10-20T05:00:00+09:00")]
    assert t5["notify_breach"] is True and t5["counted_s"] == 9000.0
