"""sd_notify runs on the event loop: it must never wait for systemd to read."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from monitor.service import systemd


def test_a_notify_socket_that_is_not_read_never_blocks_the_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unix datagram socket queues ``net.unix.max_dgram_qlen`` datagrams (10 by default);
    the next send waited for the reader, for ever if it never read (a stop's drain hung so,
    asking for more time at each write). Now such a send is refused, and said to be."""
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(tmp_path / "notify"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    results: list[bool] = []
    sender = threading.Thread(
        target=lambda: results.extend(systemd.notify("WATCHDOG=1") for _ in range(1000)),
        daemon=True,  # the code before blocks in sendto: let the test end and say so
    )
    try:
        sender.start()
        sender.join(timeout=30)
        assert not sender.is_alive(), f"notify blocked after {len(results)} sends"
        assert results[0] is True and results[-1] is False  # the queue filled, and was said to
        assert reader.recv(64) == b"WATCHDOG=1"
    finally:
        reader.close()


def test_notify_without_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
