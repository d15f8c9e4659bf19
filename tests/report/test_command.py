"""``slawatch report`` as an operator meets it: bad input, missing files, progress, stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.core.errors import MonitorError
from monitor.report import pdf
from tests.report import scenario


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return scenario.build(tmp_path_factory.mktemp("october"))


def slawatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "--month '2026-13': write YYYY-MM"),
        (["--month", "october"], "--month 'october': write YYYY-MM"),
        (["--month", "2026-12..2026-01"], "the range ends before it starts"),
        (["--month", "2026-10", "--circuit", "er-nowhere"], "--circuit 'er-nowhere': no such"),
        (["--month", "2026-10", "--format", "pdf"], "--format pdf writes a file: give -o"),
        (["--month", "2026-10", "--now", "2027-01-02T10:00"], "'2027-01-02T10:00' has no UTC"),
        (["--month", "2026-10", "--journal", "/nonexistent/j.db"], "--journal /nonexistent/j.db"),
        (["--month", "2026-10", "--events", "/nonexistent/e.jsonl"], "--events /nonexistent"),
        (["--month", "2026-10", "--jobs", "0"], "--jobs 0: give 1 or more"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(
    recorded: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    cfg, _, _ = recorded
    assert main(["report", "--config", str(cfg), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slawatch report: ") and message in err


def test_missing_journal_says_how_to_fix_it(tmp_path: Path) -> None:
    cfg = scenario.write_config(tmp_path)  # its journal: was never written
    done = slawatch("report", "--config", str(cfg), "--month", "2026-10")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the config's journal" in done.stderr and "--journal FILE" in done.stderr
    assert "--events FILE" in done.stderr
    assert not (tmp_path / "journal.db").exists()  # a report never creates a journal


def test_journal_and_events_together_are_refused(recorded: tuple[Path, Path, Path]) -> None:
    cfg, journal, events = recorded
    done = slawatch(
        "report", "--config", str(cfg), "--month", "2026-10",
        "--journal", str(journal), "--events", str(events),
    )  # fmt: skip
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


def test_stdout_carries_the_report_and_stderr_the_progress(
    recorded: tuple[Path, Path, Path],
) -> None:
    cfg, _, _ = recorded
    done = slawatch(
        "report", "--config", str(cfg), "--now", scenario.NOW,
        "--month", "2026-09..2026-10", "--format", "csv", "--progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("month,circuit,")
    assert "slawatch report: 2/3 2026-10" in done.stderr
    assert "slawatch report" not in done.stdout
    quiet = slawatch(
        "report", "--config", str(cfg), "--now", scenario.NOW, "--month", "2026-10",
    )  # fmt: skip
    assert quiet.returncode == 0 and quiet.stderr == ""  # stderr is no terminal here


def test_pdf_without_chromium_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLAWATCH_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(MonitorError, match="install the Debian package chromium"):
        pdf.print_pdf("<p>x</p>", tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_a_failing_browser_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SLAWATCH_CHROMIUM", str(fake))
    with pytest.raises(MonitorError, match=r"failed to print the PDF \(exit 3\): cannot open"):
        pdf.print_pdf("<p>x</p>", tmp_path / "r.pdf")
