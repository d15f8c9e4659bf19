"""A circuit taken out of monitoring: its incidents are still owed for (retired_circuits:)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor import config
from monitor.cli import main
from monitor.core.errors import ConfigError
from monitor.store.sqlite import open_sqlite
from tests.report import scenario

OSAKA = """\
  - id: er-osaka-2
    monthly_fee_yen: 123457
    contacts: [{address: ops@example.com, lang: en}]
    paths:
      - {router: active,  demarc: primary,   address: 198.18.5.2}
      - {router: active,  demarc: secondary, address: 198.18.6.2}
      - {router: standby, demarc: primary,   address: 198.18.7.2}
      - {router: standby, demarc: secondary, address: 198.18.8.2}
"""


def retired(at: str) -> str:
    entry = f"{{id: er-osaka-2, monthly_fee_yen: 123457, retired_at: '{at}'}}"
    return f"retired_circuits:\n  - {entry}\n"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The October scenario's journal, and its configuration without er-osaka-2."""
    cfg, _, _ = scenario.build(tmp_path_factory.mktemp("october"))
    text = cfg.read_text(encoding="utf-8")
    assert OSAKA in text
    return cfg, text.replace(OSAKA, "")


def report(
    cfg: Path, capsys: pytest.CaptureFixture[str], month: str = "2026-10"
) -> tuple[dict[str, dict[str, object]], str]:
    args = ["report", "--config", str(cfg), "--month", month, "--now", scenario.NOW]
    assert main([*args, "--format", "json", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    circuits = {c["circuit"]: c for c in json.loads(out)["circuits"]}
    return circuits, err


def write(cfg: Path, text: str) -> Path:
    path = cfg.with_name(f"variant-{abs(hash(text))}.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def test_a_removed_circuits_incidents_are_named_not_dropped_in_silence(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, without = recorded
    circuits, err = report(write(cfg, without), capsys)
    assert list(circuits) == ["er-tokyo-1"]
    assert "er-osaka-2 (4)" in err and "retired_circuits:" in err and "left out" in err


def test_a_retired_circuit_is_priced_as_when_it_was_monitored(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, without = recorded
    before, err0 = report(cfg, capsys)
    after, err = report(write(cfg, without + retired("2026-11-01T00:00:00+09:00")), capsys)
    assert "warning" not in err and "warning" not in err0
    assert after["er-osaka-2"] == before["er-osaka-2"]  # every figure, the cap included
    assert after["er-osaka-2"]["credit_yen"] == 123457  # 11/10 of the fee, capped at 1
    # and it is in no month after the one its monitoring ended in
    later, _ = report(write(cfg, without + retired("2026-11-01T00:00:00+09:00")), capsys, "2026-11")
    assert list(later) == ["er-tokyo-1"]


def test_a_retired_circuits_service_time_ends_when_monitoring_did(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, without = recorded
    before, _ = report(cfg, capsys)
    mid, _ = report(write(cfg, without + retired("2026-10-28T00:00:00+09:00")), capsys)
    # 10-28 00:00 to 11-01 00:00 JST (4 days) is no longer service time, nor unavailable
    assert before["er-osaka-2"]["service_s"] - mid["er-osaka-2"]["service_s"] == 4 * 86400
    assert mid["er-osaka-2"]["unavailable_s"] == before["er-osaka-2"]["unavailable_s"]
    assert mid["er-osaka-2"]["claims"] == before["er-osaka-2"]["claims"]


def test_one_retired_circuit_can_be_reported_alone(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, without = recorded
    path = write(cfg, without + retired("2026-11-01T00:00:00+09:00"))
    args = ["report", "--config", str(path), "--month", "2026-10", "--now", scenario.NOW]
    assert main([*args, "--circuit", "er-osaka-2", "--format", "json"]) == 0
    assert [c["circuit"] for c in json.loads(capsys.readouterr().out)["circuits"]] == ["er-osaka-2"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (retired("2026-11-01T00:00:00+09:00") * 1, "also under circuits:"),
        (retired("2026-11-01T00:00:00"), "no UTC offset"),
        (retired("1970-01-01T00:00:00+00:00"), "check the year"),
        (
            "retired_circuits:\n  - {id: er-x, monthly_fee_yen: 1, retired_at: "
            "'2026-11-01T00:00:00+09:00'}\n  - {id: er-x, monthly_fee_yen: 1, retired_at: "
            "'2026-11-01T00:00:00+09:00'}\n",
            "retired twice",
        ),
        (
            "retired_circuits:\n  - {id: er-x, monthly_fee_yen: 1}\n",
            "retired_at",
        ),
    ],
)
def test_bad_retired_circuits_are_refused_naming_the_field(
    recorded: tuple[Path, str], extra: str, message: str
) -> None:
    cfg, without = recorded
    text = cfg.read_text(encoding="utf-8") if "also under" in message else without
    with pytest.raises(ConfigError, match="retired_circuits") as caught:
        config.load(write(cfg, text + extra))
    assert message in str(caught.value)


def test_check_config_shows_a_retired_circuit(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, without = recorded
    path = write(cfg, without + retired("2026-11-01T00:00:00+09:00"))
    assert main(["check-config", "--no-secrets", str(path)]) == 0
    out = capsys.readouterr().out
    assert "retired circuit er-osaka-2: fee ¥123,457/month, not monitored since 2026-11-01" in out


def test_incidents_begun_after_retired_at_are_named_not_dropped_in_silence(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """retired_at written too early (the daemon went on monitoring): the month's incidents
    would leave the report with the circuit, ¥123,457 owed and no word said."""
    cfg, without = recorded
    circuits, err = report(write(cfg, without + retired("2026-09-30T12:00:00+09:00")), capsys)
    assert list(circuits) == ["er-tokyo-1"]
    assert "er-osaka-2 (4)" in err and "retired_at" in err
    # one of them (10-25) begun after a retirement on 10-20: priced, and named
    circuits, err = report(write(cfg, without + retired("2026-10-20T00:00:00+09:00")), capsys)
    assert circuits["er-osaka-2"]["credit_yen"] == 123457
    assert "er-osaka-2 (1)" in err


KEEP = """\
timezone: Asia/Tokyo
journal: {journal}
circuits:
  - id: er-keep
    monthly_fee_yen: 1000
    contacts: [noc@example.com]
    paths: [{{router: active, demarc: primary, address: 198.18.1.2}}]
"""
NYC_MONITORED = """\
  - id: er-nyc
    monthly_fee_yen: 300000
    timezone: America/New_York
    contacts: [noc@example.com]
    paths: [{router: active, demarc: primary, address: 198.18.9.2}]
"""
NYC_RETIRED = """\
retired_circuits:
  - {id: er-nyc, monthly_fee_yen: 300000, timezone: America/New_York,
     retired_at: '2027-03-14T12:00:00-04:00'}
"""


def test_an_incident_open_at_retired_at_ends_there_across_dst(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """er-nyc went down at 01:30 EST on 2027-03-14, the night clocks go forward, and left
    monitoring at 12:00 EDT with the outage still open in the journal (no daemon ran since):
    9.5 h of outage (1/30) and its missed notice (1/30): ¥20,000, claimable until 06-14, not
    an outage grown to the report's "now" (over 14 days: the whole fee, never claimable)."""
    base = KEEP.format(journal=tmp_path / "journal.db")
    settings = config.load(write(tmp_path / "x.yaml", base + NYC_MONITORED))
    down = datetime.fromisoformat("2027-03-14T01:30:00-05:00")
    first = down - timedelta(days=20)
    results = [(first, True), *((down + k * scenario.MIN, False) for k in range(3))]
    lines = [json.dumps({"t": t.isoformat(), "kind": "probe", "circuit": "er-nyc",
                         "path": "active/primary", "ok": ok}) for t, ok in results]  # fmt: skip
    journal = open_sqlite(tmp_path / "journal.db")
    try:
        journal.started(first)
        scenario.record(settings, lines, journal)
        assert [i.end for i in journal.incidents()] == [None]
    finally:
        journal.close()
    cfg = write(tmp_path / "x.yaml", base + NYC_RETIRED)
    args = ["report", "--config", str(cfg), "--month", "2027-03", "--now",
            "2027-05-01T00:00:00+09:00", "--format", "json", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    nyc = {c["circuit"]: c for c in json.loads(capsys.readouterr().out)["circuits"]}["er-nyc"]
    assert (nyc["credit"], nyc["credit_yen"]) == ("1/15", 20000)
    claims = [(c["kind"], c["credit"], c["claim_by"]) for c in nyc["claims"]]
    assert sorted(claims) == [("notify", "1/30", "2027-06-14"), ("outage", "1/30", "2027-06-14")]
    assert nyc["unavailable_s"] == 9.5 * 3600
    # service from 03-01 00:00 EST to the retirement (13 days and 11 hours: 12:00 EDT is 16:00Z)
    assert nyc["service_s"] == (13 * 24 + 11) * 3600
