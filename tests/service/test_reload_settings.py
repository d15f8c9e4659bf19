"""A reload (SIGHUP) applies the global probe settings, not only the circuits (found by an
attack on 2026-12-02: a raised probe_timeout_s was ignored until a restart, so every path
whose replies take longer than the old timeout stayed down, its outage open and earning)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import config
from monitor.core.plan import changes
from monitor.notify.mailer import Mailer
from monitor.service.app import App
from monitor.service.probing import Outcomes
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import Clock, Harness, ScriptedProber, settings, until
from tests.support import free_port


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


class Engine(ScriptedProber):
    """The App's engine, scripted: every probe answers ``ok``, stamped now."""

    mode, native = "scripted", True

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""


def placed(base: config.Settings, *, relay: int, listen: int) -> config.Settings:
    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["notify"]["smtp"] = [{"host": "127.0.0.1", "port": relay, "tls": "none",
                               "timeout_s": 0.5}]  # fmt: skip
    data["http"] = {"listen": f"127.0.0.1:{listen}"}
    return config.parse(data, "placed")


async def test_a_reload_that_changes_the_relays_sends_through_the_new_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At 3 a.m.: relay A is dead, the operator switches to relay B and sends SIGHUP. The
    log said "configuration reloaded" and every notice went on to relay A until a restart
    (an attack on the operator's side found it); the HTTP listener moved in the file, and
    nothing said it had not moved."""
    caplog.set_level(logging.INFO, logger="slawatch")
    base, port = settings(tmp_path), free_port()
    app = App(placed(base, relay=free_port(), listen=port))  # relay A: nothing listens
    engine = Engine(RealClock())
    app.engine = engine  # type: ignore[assignment]
    with SmtpServer() as relay_b:
        await app.start()
        try:
            app.reload(placed(base, relay=relay_b.port, listen=free_port()))
            engine.ok = False  # every path cut: an OPENED is owed
            await until(lambda: to(relay_b, "fault@cust.example"), timeout=30)
            assert f"relays 127.0.0.1:{relay_b.port} from now" in caplog.text
            assert f"http.listen changed (127.0.0.1:{port} -> " in caplog.text
            assert "takes effect at the next restart" in caplog.text
        finally:
            await app.stop()


class RealClock(Clock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


def to(relay: SmtpServer, rcpt: str) -> list[object]:
    return [r for r in relay.received if rcpt in r.rcpt_tos]


class Reloads:
    """The App's daemon as a reload sees it: the transports it is handed."""

    def __init__(self) -> None:
        self.transports: list[object] = []

    def reload(self, plan: object, transport: object = None) -> None:
        self.transports.append(transport)


def test_a_reload_reads_a_rotated_relay_password_again(tmp_path: Path) -> None:
    """The relay's password rotated in its file, the configuration unchanged, SIGHUP: every
    delivery went on logging in with the old password (refused) until a restart, and
    nothing said so (a review found it); the API tokens were read again already."""
    secret = tmp_path / "relay.pw"
    secret.write_text("old-password\n")

    def with_relay() -> config.Settings:
        data = settings(tmp_path).model_dump(mode="json", by_alias=True, exclude_none=True)
        relay = {"host": "relay.example", "port": 587, "tls": "starttls",
                 "username": "slawatch", "password_file": str(secret)}  # fmt: skip
        data["notify"]["smtp"] = [relay]
        return config.parse(data, "relay")

    app = App(with_relay())
    daemon = Reloads()
    app.daemon = daemon  # type: ignore[assignment]
    secret.write_text("new-password\n")
    app.reload(with_relay())
    [transport] = daemon.transports
    assert isinstance(transport, Mailer) and transport.relays[0].password == "new-password"
