"""The API token file (issue 10, item 11): a warning when others can read it, and a rotated
token applies at SIGHUP, in a real ``slawatch run`` on loopback targets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from tests.support import free_port

OLD, NEW = "old-token-" + "a" * 22, "new-token-" + "b" * 22


def write_config(tmp: Path, token: Path, port: int) -> Path:
    data = {
        "probe_interval_s": 0.5,
        "probe_timeout_s": 0.5,
        "journal": str(tmp / "journal.db"),
        "http": {"listen": f"127.0.0.1:{port}", "token_file": str(token)},
        "notify": {"maildir": str(tmp / "maildir")},
        "circuits": [
            {
                "id": "c1",
                "monthly_fee_yen": 300000,
                "contacts": ["fault@customer.example"],
                "paths": [
                    {"router": r, "demarc": d, "address": f"127.0.0.{n + 2}"}
                    for n, (r, d) in enumerate(
                        (r, d) for r in ("active", "standby") for d in ("primary", "secondary")
                    )
                ],
            }
        ],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def token_file(tmp: Path, value: str, mode: int) -> Path:
    path = tmp / "api.token"
    path.write_text(value + "\n")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    ("mode", "gid", "warned"),
    [
        (0o600, None, False),
        (0o640, None, False),  # the daemon's own group: what deploy/ installs
        (0o644, None, True),
        (0o606, None, True),
        (0o640, 4242, True),  # a group the daemon is not in
    ],
)
def test_check_config_warns_of_a_token_others_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int, gid: int | None, warned: bool
) -> None:
    token = token_file(tmp_path, OLD, mode)
    if gid is not None:
        if os.geteuid() != 0:
            pytest.skip("changing a file's group to one we are not in needs root")
        os.chown(token, -1, gid)
    assert main(["check-config", str(write_config(tmp_path, token, free_port()))]) == 0
    err = capsys.readouterr().err
    assert ("warning: http.token_file" in err and "chmod 0600" in err) is warned, err


class Running:
    def __init__(self, tmp: Path, token: Path) -> None:
        self.port = free_port()
        self.log = tmp / "daemon.log"
        cfg = write_config(tmp, token, self.port)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                stdout=fh,
                stderr=fh,
            )
        self.until(lambda: self.status(OLD) is not None, "the daemon answering")

    def status(self, token: str) -> int | None:
        """What ``DELETE /api/maintenance/999`` answers with ``token``: 401 when the token
        is refused, 404 (no such window) when it is accepted; None: no answer."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/maintenance/999",
            method="DELETE",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def until(self, cond: object, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            if callable(cond) and cond():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    token = token_file(tmp_path, OLD, 0o600)
    daemon = Running(tmp_path, token)
    try:
        yield daemon, token
    finally:
        daemon.stop()


def test_a_rotated_token_applies_at_sighup(running: tuple[Running, Path]) -> None:
    d, token = running
    assert d.status(OLD) == 404 and d.status(NEW) == 401
    assert "open to" not in d.log.read_text()
    token.write_text(NEW + "\n")
    os.chmod(token, 0o644)
    d.proc.send_signal(signal.SIGHUP)
    d.until(lambda: d.status(NEW) == 404, "the new token accepted")
    assert d.status(OLD) == 401
    d.until(lambda: "open to every user" in d.log.read_text(), "the warning at the reload")


def test_an_unreadable_token_file_refuses_the_reload(running: tuple[Running, Path]) -> None:
    d, token = running
    token.unlink()
    d.proc.send_signal(signal.SIGHUP)
    d.until(lambda: "reload refused" in d.log.read_text(), "the reload refused")
    assert "http.token_file" in d.log.read_text()
    assert d.status(OLD) == 404  # the old token stays in force, as the old configuration does


def test_a_configuration_that_is_not_utf8_refuses_the_reload(
    running: tuple[Running, Path], tmp_path: Path
) -> None:
    """config.load caught OSError only: a stray Latin-1 byte made SIGHUP log asyncio's
    "Exception in callback" with a traceback, instead of refusing the reload."""
    d, _ = running
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(cfg.read_bytes() + b"# caf\xe9\n")
    d.proc.send_signal(signal.SIGHUP)
    d.until(lambda: "reload refused" in d.log.read_text(), "the reload refused")
    log = d.log.read_text()
    assert "not UTF-8 text" in log and "Traceback" not in log, log[-3000:]
    assert d.status(OLD) == 404  # still running, on the old configuration
