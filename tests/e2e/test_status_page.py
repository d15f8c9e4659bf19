"""A browser (Debian's headless Chromium, run as a command) loads the overview during a real
outage; the whole web UI is driven through Playwright in test_web_ui.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon, free_port
from tests.e2e.test_daemon import all_up
from tests.support import require_tool
from tests.topology import Topology

pytestmark = pytest.mark.netns

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=3000",
]


def chromium() -> str:
    return require_tool("chromium")


def browse(url: str, tmp: Path, *extra: str) -> str:
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_status_page_shows_the_outage_with_a_countdown(topology: Topology, tmp_path: Path) -> None:
    chromium()
    # the relay is down, so the notification countdown keeps running on the page
    d = Daemon.launch(topology, tmp_path, smtp_port=free_port())
    try:
        d.wait_for(lambda: all_up(d), 10, "all paths up")
        topology.cut_all()
        d.wait_for(lambda: d.incidents(), 10, "an incident")
        dom = browse(d.url("/"), tmp_path, "--dump-dom")
        assert 'class="badge unavailable"' in dom and 'id="row-er-test-1"' in dom
        assert "left</span>" in dom  # the deadline's countdown, kept ticking by the script
        assert dom.count('<i class="down"></i>') == 4
        ARTIFACTS.mkdir(exist_ok=True)
        for name, size in (("status-page.png", "1280,800"), ("status-page-phone.png", "390,844")):
            out = ARTIFACTS / name
            out.unlink(missing_ok=True)
            browse(d.url("/"), tmp_path, f"--screenshot={out}", f"--window-size={size}")
            assert out.exists() and out.stat().st_size > 5_000
    finally:
        d.ensure_stopped()
        topology.restore_all()
