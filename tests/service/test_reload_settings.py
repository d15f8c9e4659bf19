"""A reload (SIGHUP) applies the global probe settings, not only the circuits (found by an
attack on 2026-12-02: a raised probe_timeout_s was ignored until a restart, so every path
whose replies take longer than the old timeout stayed down, its outage open and earning)."""

from __future__ import annotations

from pathlib import Path

from monitor import config
from monitor.core.plan import changes
from monitor.service.probing import Outcomes
from tests.service.harness import Harness, ScriptedProber


def reloaded(settings: config.Settings, **top: object) -> config.Settings:
    data = settings.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(top)
    return config.parse(data, "reloaded")


class RecordingProber:
    """A ScriptedProber that remembers the timeout each batch was sent with."""

    def __init__(self, inner: ScriptedProber) -> None:
        self.inner = inner
        self.timeouts: list[float] = []

    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes:
        self.timeouts.append(timeout)
        return await self.inner.outcomes(targets, timeout=timeout)


async def test_a_reload_applies_the_new_probe_timeout(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    rec = RecordingProber(h.prober)
    h.prober = rec  # type: ignore[assignment]
    d = await h.start()
    try:
        await h.until(lambda: len(rec.timeouts) > 5)
        assert set(rec.timeouts) == {0.05}
        d.reload(reloaded(h.settings, probe_interval_s=0.5, probe_timeout_s=0.4).plan())
        n = len(rec.timeouts)  # a batch may be on its way: the next ones use the new value
        await h.until(lambda: len(rec.timeouts) > n + 5)
        assert set(rec.timeouts[n + 1 :]) == {0.4}
    finally:
        await h.stop()


def test_the_reload_log_names_the_settings_that_changed(tmp_path: Path) -> None:
    old = Harness(tmp_path).settings
    new = reloaded(old, probe_timeout_s=0.04, fail_after=5)
    described = changes(old.plan(), new.plan()).describe()
    assert described[:2] == ["fail_after 3 -> 5", "timeout_s 0.05 -> 0.04"]
    assert changes(old.plan(), old.plan()).describe() == []
