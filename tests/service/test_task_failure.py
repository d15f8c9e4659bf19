"""A task of the daemon's own that dies (an error in the core, say) fails the daemon loudly:
``slawatch run`` then stops and exits non-zero, for systemd (``Restart=always``) to restart
it. Before, a dead timer loop went unnoticed: the daemon probed on and sent no notice."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.service.harness import Harness


async def test_a_dead_timer_loop_fails_the_daemon(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    try:
        assert not d.failed.is_set()

        def broken() -> None:
            raise RuntimeError("a bug in the core")

        d.sup.next_timer = broken  # type: ignore[method-assign,assignment]
        d._wake.set()  # the timer loop looks again
        await h.until(lambda: d.failed.is_set())
        assert "the timer task ended on RuntimeError('a bug in the core')" in caplog.text
        assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    finally:
        await h.stop()


async def test_a_clean_stop_is_no_failure(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    await h.until(lambda: d.sup.last_probe is not None)
    await h.stop()
    assert not d.failed.is_set()
