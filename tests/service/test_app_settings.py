"""The running daemon (the real App: ICMP engine, journal, web server) keeps its plan, not the
validated settings: at 10,000 paths those models are ~25 MB that nothing reads again."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from monitor.service.app import App
from tests.service.harness import settings
from tests.support import free_port


async def test_the_validated_settings_are_let_go_once_started(tmp_path: Path) -> None:
    s = settings(tmp_path)
    s = s.model_copy(
        update={"http": s.http.model_copy(update={"listen": f"127.0.0.1:{free_port()}"})}
    )
    kept = weakref.ref(s)
    app = App(s)
    del s
    await app.start()
    try:
        gc.collect()
        assert kept() is None
        assert app.daemon is not None and [c.id for c in app.daemon.plan.circuits] == ["c1"]
    finally:
        await app.stop()
