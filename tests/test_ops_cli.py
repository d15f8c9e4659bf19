"""``slawatch status|incidents|incident|maintenance|exclude`` as an operator runs them: from the
journal (no daemon) and through a running daemon's API, with the same figures either way."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.report import scenario
from tests.support import free_port


def slawatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=60
    )


def ok_json(*args: str) -> Any:
    done = slawatch(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def october(tmp_path: Path) -> list[str]:
    """The report scenario's journal; the CLI told to read it directly."""
    cfg, _, _ = scenario.build(tmp_path)
    return ["--config", str(cfg), "--via", "journal"]


def by_start(incidents: list[dict[str, Any]], start: str) -> dict[str, Any]:
    [found] = [i for i in incidents if i["start"] == start]
    return found


def test_incidents_from_the_journal(october: list[str]) -> None:
    found = ok_json("incidents", "--circuit", "er-tokyo-1", "--since", "2026-10-07", *october)
    assert [i["start"][:16] for i in found][:2] == ["2026-10-07T10:02", "2026-10-12T02:00"]
    t2 = found[0]
    assert t2["credit"] == "1/90" and t2["counted_s"] == 31 * 60
    table = slawatch("incidents", "--circuit", "er-tokyo-1", *october)
    assert table.returncode == 0 and "via journal" in table.stderr
    assert "(no daemon runs on it)" in table.stderr, table.stderr
    assert "2026-10-07 10:02:00+09:00" in table.stdout and "7 incident(s)" in table.stdout


def test_incident_shows_figures_and_timeline(october: list[str]) -> None:
    t3 = by_start(ok_json("incidents", *october), "2026-10-12T02:00:00+09:00")
    shown = slawatch("incident", str(t3["id"]), *october)
    assert shown.returncode == 0, shown.stderr
    assert "timeline:" in shown.stdout and "down since" in shown.stdout
    assert "yes" in shown.stdout.splitlines()[1]  # the breach column
    missing = slawatch("incident", "9999", *october)
    assert missing.returncode == 2 and "no incident 9999" in missing.stderr


def test_maintenance_changes_counted_time_and_can_be_withdrawn(october: list[str]) -> None:
    t2 = by_start(ok_json("incidents", *october), "2026-10-07T10:02:00+09:00")
    window = ["--circuit", "er-tokyo-1", "--start", "2026-10-07T10:00:00+09:00",
              "--end", "2026-10-07T10:10:00+09:00"]  # fmt: skip
    # recorded now, with no earlier announcement: it would exclude nothing (§1), so it is
    # refused, saying how to state when the customer was told
    told_now = slawatch("maintenance", "add", *window, "--note", "told now", *october)
    assert told_now.returncode == 2 and "--announced-at" in told_now.stderr
    added = ok_json("maintenance", "add", *window, "--note", "announced late",
                    "--announced-at", "2026-10-06T10:00:00+09:00", "--by", "duty",
                    *october)  # fmt: skip
    assert added["window"]["source"] == "cli" and added["window"]["note"] == "announced late"
    assert added["window"]["announced_at"] == "2026-10-06T10:00:00+09:00"
    assert added["window"]["recorded_by"] == "cli duty" and added["window"]["recorded_late"]
    [changed] = added["incidents_changed"]
    assert changed["id"] == t2["id"] and changed["counted_s"] == 23 * 60
    assert changed["credit"] == "0"  # 23 min: under the first tier
    listed = ok_json("maintenance", "list", "--circuit", "er-tokyo-1", *october)
    assert [w["source"] for w in listed] == ["config", "cli", "api"]
    assert listed[0]["id"] is None  # configured: edited in the YAML, not here
    removed = ok_json("maintenance", "remove", str(added["window"]["id"]), *october)
    assert removed["removed"] is True
    assert by_start(ok_json("incidents", *october), t2["start"])["credit"] == "1/90"
    again = slawatch("maintenance", "remove", str(added["window"]["id"]), *october)
    assert again.returncode == 2 and "no announced maintenance window" in again.stderr


def test_exclude_needs_a_reason_and_zeroes_the_credit(october: list[str]) -> None:
    t2 = by_start(ok_json("incidents", *october), "2026-10-07T10:02:00+09:00")
    no_reason = slawatch("exclude", str(t2["id"]), "--reason", "  ", *october)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    done = ok_json("exclude", str(t2["id"]), "--reason", "customer cut the cross-connect",
                   *october)  # fmt: skip
    assert done["excluded"] == "customer cut the cross-connect" and done["credit"] == "0"


def test_bad_input_is_named(october: list[str]) -> None:
    window = ["--circuit", "er-tokyo-1", "--end", "2026-10-07T11:00:00+09:00"]
    naive = slawatch("maintenance", "add", *window, "--start", "2026-10-07T10:00", *october)
    assert naive.returncode == 2 and "has no UTC offset" in naive.stderr
    backwards = slawatch("maintenance", "add", "--circuit", "er-tokyo-1", "--start",
                         "2026-10-07T11:00:00+09:00", "--end", "2026-10-07T10:00:00+09:00",
                         *october)  # fmt: skip
    assert (
        backwards.returncode == 2
        and "--end: end 2026-10-07T10:00:00+09:00 is not after" in backwards.stderr
    )
    unknown = slawatch("maintenance", "add", "--circuit", "er-nowhere", "--start",
                       "2026-10-07T10:00:00+09:00", "--end", "2026-10-07T11:00:00+09:00",
                       *october)  # fmt: skip
    assert unknown.returncode == 2 and "unknown circuit 'er-nowhere'" in unknown.stderr
    start = ["--start", "2026-10-07T10:00:00+09:00"]
    naive = slawatch("maintenance", "add", *window, *start, "--announced-at", "2026-10-01T10:00",
                     *october)  # fmt: skip
    assert naive.returncode == 2 and "--announced-at" in naive.stderr
    assert "has no UTC offset" in naive.stderr
    future = slawatch("maintenance", "add", *window, *start, "--announced-at",
                      "2099-01-01T00:00:00+09:00", *october)  # fmt: skip
    assert future.returncode == 2 and "announced_at" in future.stderr
    assert "in the future" in future.stderr
    after_end = slawatch("maintenance", "add", *window, *start, "--announced-at",
                         "2026-10-07T12:00:00+09:00", *october)  # fmt: skip
    assert after_end.returncode == 2 and "is not before end" in after_end.stderr


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "--start: start 0001-01-01"),
        ("2026-10-07T10:00:00+09:00", "9999-12-31T23:59:59-05:00", "--end: end 9999-12-31"),
        ("2026-01-01T00:00:00+09:00", "2027-06-01T00:00:00+09:00", "at most 366 days"),
    ],
)
def test_absurd_windows_exit_2_and_store_nothing(
    october: list[str], start: str, end: str, message: str
) -> None:
    """Issue 10, item 4: 0001-01-01..9999-12-31 was stored, then every view answered 500."""
    before = ok_json("maintenance", "list", *october)
    done = slawatch("maintenance", "add", "--circuit", "er-tokyo-1", "--start", start,
                    "--end", end, *october)  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert ok_json("maintenance", "list", *october) == before


@pytest.mark.parametrize("given", ["٣", "²", "99999999999999999999999", "-1"])
def test_ids_are_ascii_digits(october: list[str], given: str) -> None:
    """Issue 10, item 8: int() reads '٣' as 3, so `remove ٣` withdrew window 3."""
    done = slawatch("maintenance", "remove", given, *october)
    assert done.returncode == 2 and "is not a number" in done.stderr, done.stderr
    done = slawatch("incident", given, *october)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_no_journal_and_no_daemon(tmp_path: Path) -> None:
    cfg = scenario.write_config(tmp_path)
    done = slawatch("status", "--config", str(cfg), "--via", "journal")
    assert done.returncode == 2 and "journal.db does not exist" in done.stderr


# -- through a running daemon ----------------------------------------------------------------
@pytest.fixture
def running(tmp_path: Path) -> Iterator[Path]:
    """``slawatch run`` on loopback targets with a token: the API is the way in."""
    with daemon(tmp_path) as (cfg, _):
        yield cfg


@contextlib.contextmanager
def daemon(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A running daemon (see ``running``): its configuration and its process."""
    token = tmp_path / "token"
    token.write_text("t" * 32 + "\n")
    port = free_port()
    data = yaml.safe_load(scenario.CONFIG.format(journal=tmp_path / "journal.db"))
    for c in data["circuits"]:  # loopback, so the daemon runs without namespaces
        for n, p in enumerate(c["paths"]):
            p["address"] = f"127.0.0.{n + 2}"
    data["http"] = {"listen": f"127.0.0.1:{port}", "token_file": str(token)}
    data["notify"] = {"maildir": str(tmp_path / "maildir")}
    cfg = tmp_path / "live.yaml"
    cfg.write_text(yaml.safe_dump(data))
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "daemon did not answer"
                time.sleep(0.1)
        yield cfg, proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_through_the_api_of_a_running_daemon(running: Path) -> None:
    cfg = ["--config", str(running)]
    done = slawatch("status", *cfg)
    assert done.returncode == 0 and "via http://127.0.0.1:" in done.stderr, done.stderr
    assert "er-tokyo-1" in done.stdout and "er-osaka-2" in done.stdout
    assert "cluster: single node (no cluster: configured)" in done.stdout
    assert ok_json("status", *cfg)["cluster"]["mode"] == "single"
    port = yaml.safe_load(running.read_text())["http"]["listen"].rsplit(":", 1)[1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/cluster", timeout=5) as resp:
        alone = json.loads(resp.read())
    assert (alone["mode"], alone["role"], alone["leader"], alone["nodes"]) == (
        "single", "single", None, [])  # fmt: skip
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    window = ["--start", start.isoformat(), "--end", (start + timedelta(hours=2)).isoformat()]
    added = ok_json("maintenance", "add", "--circuit", "er-osaka-2", *window, *cfg)
    assert added["window"]["source"] == "api" and not added["window"]["recorded_late"]
    listed = ok_json("maintenance", "list", "--circuit", "er-osaka-2", *cfg)
    assert [(w["source"], datetime.fromisoformat(w["start"])) for w in listed] == [("api", start)]
    assert ok_json("maintenance", "remove", str(added["window"]["id"]), *cfg)["removed"] is True
    assert ok_json("maintenance", "list", "--circuit", "er-osaka-2", *cfg) == []
    forced = slawatch("incidents", "--via", "journal", *cfg)
    assert forced.returncode == 0 and "via journal" in forced.stderr
