"""``slawatch contract`` end to end (SLA.md §5), and the one-line error of every command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from monitor.cli import main


def slawatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, check=False
    )


def test_base_and_static_nat_rounded_once(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["contract", "--billing-start", "2026-03-01", "--fee", "100000",
            "--option", "static_nat=2026-03-01:10037", "--notice", "2026-02-20"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["effective_date"] == "2026-03-22" and data["total_yen"] == 31_946
    assert [c["charge"] for c in data["components"]] == ["900000/31", "90333/31"]
    assert main(argv) == 0
    assert "early-termination charge: ¥31,946" in capsys.readouterr().out


def test_ending_before_billing_starts_owes_the_whole_period(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["contract", "--billing-start", "2026-06-01", "--fee", "31000", "--notice",
            "2026-04-01", "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_yen"] == 31_000 and data["components"][0]["remaining_days"] == 30


def test_no_charge_reason_is_printed_and_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["contract", "--billing-start", "2026-06-01", "--fee", "31000", "--notice",
            "2026-05-20", "--no-charge-reason", "Art. 28 §3"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no charge" in out and "Art. 28 §3" in out and "charge: ¥0" in out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["no_charge_reason"] == "Art. 28 §3" and data["total_yen"] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--option", "base=2026-01-01:5"], "base is the base service, not an option"),
        (["--option", "office365=2026-01-01:5", "--option", "office365=2026-02-01:5"], "twice"),
        (["--option", "fax=2026-01-01:5"], "office365, azure_public, static_nat"),
        (["--fee", "abc"], "argument --fee: invalid int value"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    base = ["contract", "--billing-start", "2026-06-01", "--fee", "1", "--notice", "2026-05-01"]
    r = slawatch(*base, *args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    assert r.stderr.startswith("slawatch contract: ")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--billing-start", "2026-01-01", "--notice", "9999-12-31"], "--notice 9999-12-31"),
        (["--billing-start", "9999-12-31", "--notice", "2026-01-01"], "--billing-start 9999-12-31"),
        (["--billing-start", "2026-01-01", "--notice", "2026-01-02",
          "--option", "static_nat=9999-12-31:100"], "--option static_nat 9999-12-31"),
        (["--billing-start", "2026-01-01", "--notice", "2026-01-02",
          "--requested", "1999-12-31"], "--requested 1999-12-31"),
    ],
)  # fmt: skip
def test_a_date_outside_the_sane_years_is_refused(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dates near 9999 ended in OverflowError or ValueError tracebacks (notice + 30 days, a
    minimum period's month past the year 9999)."""
    assert main(["contract", "--fee", "100000", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"slawatch contract: {says} is outside 2000-01-01..2099-12-31"), err


@pytest.mark.parametrize(
    "argv",
    [["report"], ["report", "--month", "2026-10", "--format", "doc"], ["incident", "x"], ["nope"]],
)
def test_every_command_s_usage_error_is_one_line(argv: list[str]) -> None:
    r = slawatch(*argv)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "usage:" not in r.stderr, r.stderr
