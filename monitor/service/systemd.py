"""sd_notify without libsystemd: READY, RELOADING, STOPPING and WATCHDOG datagrams.

Does nothing when not started by systemd (no ``NOTIFY_SOCKET``). See deploy/systemd.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to systemd; False when there is no socket, or when
    it takes no more now. Never waits: it runs on the event loop, and a unix datagram socket
    whose reader is behind (its queue holds ``net.unix.max_dgram_qlen`` datagrams, 10 by
    default) blocks a sender for as long as the reader stays behind."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(state.encode(), address)
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Half of systemd's WatchdogSec in seconds, or None when no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000
