"""Fixtures of the notifier tests: a TLS certificate, and relays that always stop."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notify.smtp_server import Cert, SmtpServer


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate for 127.0.0.1, made once per session with openssl."""
    return Cert.make(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def relay_factory() -> Iterator[Callable[..., SmtpServer]]:
    """Make (not start) relays; every one made is stopped at the end, even on failure."""
    made: list[SmtpServer] = []

    def make(**kwargs: Any) -> SmtpServer:
        server = SmtpServer(**kwargs)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.stop()


@pytest.fixture
def relay(relay_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """One plain relay, started."""
    server = relay_factory()
    server.start()
    return server


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so an unclosed socket is blamed on the test that left it."""
    yield
    gc.collect()
