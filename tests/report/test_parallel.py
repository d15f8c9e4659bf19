"""``slawatch report`` draws the months of a range in parallel processes (report_parts.py):
the same bytes as one process, and really in other processes. Run as the operator runs it (a
subprocess: the forking path needs a process with no other thread, which a pytest worker is
not)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.report import scenario
from tests.report.test_command import slawatch


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return scenario.build(tmp_path_factory.mktemp("october"))


@pytest.mark.parametrize("fmt", ["html", "json", "text", "md", "csv"])
def test_many_processes_draw_the_same_bytes_as_one(
    recorded: tuple[Path, Path, Path], tmp_path: Path, fmt: str
) -> None:
    cfg, _, events = recorded
    for source in ([], ["--events", str(events)]):
        out = {}
        for jobs in ("1", "3"):
            path = tmp_path / f"{fmt}.{jobs}"
            done = slawatch(
                "report", "--config", str(cfg), "--now", scenario.NOW, *source,
                "--month", "2026-08..2026-11", "--format", fmt, "--jobs", jobs, "-o", str(path),
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            out[jobs] = path.read_bytes()
        assert out["1"] == out["3"] and b"2026-10" in out["1"]


def test_the_months_are_drawn_in_other_processes_in_order(tmp_path: Path) -> None:
    """Each part says which process drew it: with 3 jobs, not this one; in month order."""
    script = textwrap.dedent(
        """
        import os
        from datetime import UTC, datetime
        from monitor.commands import report_parts
        from monitor.commands.report_parts import Drawn, Job, draw

        report_parts.part = lambda job, k: Drawn(text=f"{job.months[k]} {os.getpid()}")
        months = [f"2026-{m:02d}" for m in range(1, 13)]
        job = Job(months=months, fmt="text", lang="en", terms={}, now=datetime.now(UTC),
                  circuits=None, incidents=lambda month: [])
        steps = []
        parts = [d.text for d in draw(job, 3, steps.append)]
        assert steps == months, steps
        assert [p.split()[0] for p in parts] == months, parts
        pids = {int(p.split()[1]) for p in parts}
        assert os.getpid() not in pids and 1 <= len(pids) <= 3, pids
        alone = [d.text for d in draw(job, 1, steps.append)]
        assert alone == [f"{m} {os.getpid()}" for m in months]
        print("ok", len(pids))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr


def test_a_worker_that_dies_is_a_clear_error() -> None:
    """A process drawing a month killed (by the OOM killer, say): an error that says what to
    do, not a traceback from the pool."""
    script = textwrap.dedent(
        """
        import os
        from datetime import UTC, datetime
        from monitor.commands import report_parts
        from monitor.commands.report_parts import Job, draw
        from monitor.core.errors import MonitorError

        report_parts.part = lambda job, k: os._exit(9)
        job = Job(months=["2026-01", "2026-02"], fmt="text", lang="en", terms={},
                  now=datetime.now(UTC), circuits=None, incidents=lambda month: [])
        try:
            draw(job, 2, lambda month: None)
        except MonitorError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "died" in done.stdout and "--jobs 1" in done.stdout


def test_a_journal_a_worker_cannot_read_is_the_journal_error() -> None:
    """Each worker reads its months from the journal: when that fails (the database went
    away meanwhile, say), the command gets the store's own error (its message names the
    journal and the fix), not a pool's traceback."""
    script = textwrap.dedent(
        """
        from datetime import UTC, datetime
        from monitor.commands.report_parts import Job, draw
        from monitor.core.errors import JournalError

        def unreadable(month):
            raise JournalError(f"journal db: cannot read {month}; check the server")

        job = Job(months=["2026-01", "2026-02", "2026-03"], fmt="text", lang="en", terms={},
                  now=datetime.now(UTC), circuits=None, incidents=unreadable)
        for jobs in (1, 2):
            try:
                draw(job, jobs, lambda month: None)
            except JournalError as exc:
                print(jobs, exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1 journal db: cannot read 2026-01; check the server",
        "2 journal db: cannot read 2026-01; check the server",
    ], done.stdout
