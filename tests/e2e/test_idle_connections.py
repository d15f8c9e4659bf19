"""End to end: hundreds of idle, half-open HTTP connections must not starve the daemon.

Issue 10, item 3: 1,100 idle connections used up 1,024 descriptors, so SMTP failed with
EMFILE, ``/healthz`` timed out and the log filled with tracebacks. Here the daemon runs with
RLIMIT_NOFILE 256 (cheaper, same fault) and the test holds 300 connections that never finish
a request, some silent, some stuck half way through their headers (slowloris).
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.notify.smtp_server import SmtpServer
from tests.topology import Topology

pytestmark = pytest.mark.netns

NOFILE = 256
IDLE = 300


@contextmanager
def idle_connections(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never complete a request: even ones say nothing, odd ones
    send half a request line and headers. Yields the sockets that connected."""
    socks: list[socket.socket] = []
    sel = selectors.DefaultSelector()
    try:
        for n in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, n)
        connected: list[socket.socket] = []
        deadline = time.monotonic() + 10
        while len(connected) < count and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                sel.unregister(s)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.append(s)
                    if key.data % 2:
                        s.send(b"GET /api/circuits HTTP/1.1\r\nHost: slawatch\r\nX-Slow: ")
        yield connected
    finally:
        sel.close()
        for s in socks:
            s.close()


@contextmanager
def peak_descriptors(pid: int) -> Iterator[list[int]]:
    """The most descriptors process ``pid`` held while the block ran (sampled)."""
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], len(os.listdir(f"/proc/{pid}/fd")))
            except OSError:
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield peak
    finally:
        done.set()
        watcher.join(timeout=5)


def timed_get(url: str, timeout: float) -> tuple[float, int | None]:
    """Seconds a GET took and its status (None: no answer within ``timeout``)."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status: int | None = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError):
        status = None
    return time.monotonic() - t0, status


def test_idle_connections_do_not_starve_health_notices_or_the_log(
    topology: Topology, tmp_path: Path
) -> None:
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port, nofile=NOFILE)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            log_before = d.log.stat().st_size
            assert d.proc is not None
            with (
                peak_descriptors(d.proc.pid) as peak,
                idle_connections(topology.noc_mgmt_address, d.port, IDLE) as held,
            ):
                healthz_s, healthz = timed_get(d.url("/healthz"), timeout=10)
                cut = time.monotonic()
                topology.cut_all()
                deadline = cut + 20
                while time.monotonic() < deadline and not any(
                    "opened" in r.message_id for r in relay.received
                ):
                    time.sleep(0.05)
                notice_s = time.monotonic() - cut
                page_s, page = timed_get(d.url("/"), timeout=10)
                log = d.log.read_bytes()[log_before:]
                print(
                    f"\n{len(held)} idle connections held; /healthz {healthz} in "
                    f"{healthz_s:.3f} s; opened notice {notice_s:.2f} s after the cut; "
                    f"GET / {page} in {page_s:.3f} s; log +{len(log)} bytes, "
                    f"{log.count(b'Traceback')} tracebacks; at most {peak[0]} descriptors"
                )
            assert len(held) >= NOFILE, "the test did not hold enough connections"
            assert healthz == 200 and healthz_s < 2.0, (healthz, healthz_s)
            assert notice_s < 10.0, f"no opened notice within 10 s of the cut ({notice_s:.1f} s)"
            assert page == 200 and page_s < 2.0, (page, page_s)
            assert log.count(b"Traceback") == 0, log[-3000:].decode(errors="replace")
            assert len(log) < 20_000, log[-3000:].decode(errors="replace")
            assert peak[0] < NOFILE - 50, f"{peak[0]} descriptors: too close to {NOFILE}"
        finally:
            d.ensure_stopped()
            topology.restore_all()
