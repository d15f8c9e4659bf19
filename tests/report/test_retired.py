"""A circuit taken out of monitoring: its incidents are still owed for (retired_circuits:)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor import config
from monitor.cli import main
from monitor.core.errors import ConfigError
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
