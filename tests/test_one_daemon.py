"""One daemon per journal file (store/owner.py), against real ``slawatch run`` processes on
loopback targets: a second daemon is refused before it writes anything, and a change made
from the command line while the daemon holds the journal without answering is refused
instead of written behind its back (found by an attack on the operator's side)."""

from __future__ import annotations

import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import yaml

from tests.support import free_port
from tests.test_ops_cli import daemon, slawatch


def rows(journal: Path) -> dict[str, int]:
    """Rows of the tables a start writes: its start record, an unmonitored gap (not the
    running daemon's heartbeat, which it writes every 10 s and may write meanwhile)."""
    with closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
        return {
            "daemon_events": db.execute(
                "SELECT count(*) FROM daemon_events WHERE kind <> 'heartbeat'"
            ).fetchone()[0],
            "gaps": db.execute("SELECT count(*) FROM gaps").fetchone()[0],
        }


def test_a_second_daemon_on_the_journal_is_refused_before_it_writes(tmp_path: Path) -> None:
    with daemon(tmp_path) as (cfg, _):
        data = yaml.safe_load(cfg.read_text())
        journal = Path(data["journal"])
        before = rows(journal)
        data["http"]["listen"] = f"127.0.0.1:{free_port()}"  # another port, the same journal
        other = tmp_path / "other.yaml"
        other.write_text(yaml.safe_dump(data))
        second = slawatch("run", "--config", str(other))
        assert second.returncode == 2, second.stderr
        assert "another slawatch daemon (pid " in second.stderr
        assert "running on this journal" in second.stderr
        same = slawatch("run", "--config", str(cfg))  # its very configuration: the port
        assert same.returncode == 2 and "cannot listen" in same.stderr
        assert "Traceback" not in second.stderr + same.stderr
        assert rows(journal) == before  # no start, no false gap


def test_a_change_is_refused_while_the_daemon_holds_the_journal_but_does_not_answer(
    tmp_path: Path,
) -> None:
    with daemon(tmp_path) as (cfg, proc):
        journal = Path(yaml.safe_load(cfg.read_text())["journal"])
        proc.send_signal(signal.SIGSTOP)  # a stall: its API does not answer
        try:
            before = rows(journal)
            start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 86400))
            end = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 90000))
            done = slawatch("maintenance", "add", "--circuit", "er-osaka-2", "--start", start,
                            "--end", end, "--config", str(cfg))  # fmt: skip
            assert done.returncode != 0, done.stdout
            assert "runs on this journal but did not answer" in done.stderr
            assert "nothing was changed" in done.stderr
            assert rows(journal) == before
            read = slawatch("incidents", "--config", str(cfg))  # reading is fine
            assert read.returncode == 0, read.stderr
            assert f"a slawatch daemon (pid {proc.pid}) runs on it, not answering at" in read.stderr
        finally:
            proc.send_signal(signal.SIGCONT)


def test_reading_the_journal_directly_says_whether_a_daemon_runs_on_it(tmp_path: Path) -> None:
    """``--via journal`` said "(no daemon)" while one ran: the line now tells the lock."""
    with daemon(tmp_path) as (cfg, proc):
        read = slawatch("incidents", "--via", "journal", "--config", str(cfg))
        assert read.returncode == 0, read.stderr
        said = f"(read directly: a slawatch daemon (pid {proc.pid}) runs on it, not asked"
        assert said in read.stderr and "no daemon" not in read.stderr, read.stderr
        change = slawatch("exclude", "1", "--reason", "x", "--via", "journal", "--config", str(cfg))
        assert change.returncode != 0 and "nothing was changed" in change.stderr, change.stderr
        assert "through its API (without --via journal)" in change.stderr
        assert "did not answer" not in change.stderr  # it was not asked
    read = slawatch("incidents", "--via", "journal", "--config", str(cfg))  # it has stopped
    assert read.returncode == 0 and "(no daemon runs on it)" in read.stderr, read.stderr
