"""Opening the ICMP sockets of the engine: privileges, buffer size, kernel-side filters,
receive time-stamps.

Raw sockets need CAP_NET_RAW (root has it). Without it Linux offers datagram "ping" sockets
to the groups in the sysctl net.ipv4.ping_group_range (per network namespace; it also covers
IPv6); on those the kernel picks the echo identifier and delivers only our own replies.

Receive time-stamps: with SO_TIMESTAMPNS the kernel stamps every packet as it arrives
(CLOCK_REALTIME, nanoseconds) and hands the stamp to ``recvmsg`` as ancillary data, so an RTT
does not include the time the reply then waits in the socket for the event loop. Python does
not name the option; its numbers here are Linux's asm-generic ones (x86, arm, riscv, powerpc,
s390); alpha, mips, parisc, sparc (numbered differently) and other systems go without, and
the engine then reads its own clock when it reads the reply.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any, Protocol

from monitor.core.errors import ProbeSetupError

RCVBUF = 8 * 1024 * 1024
"""Bytes of receive buffer asked for (SO_RCVBUFFORCE as root, else capped at rmem_max)."""

STAMPS: dict[int, struct.Struct] = {64: struct.Struct("=qq"), 35: struct.Struct("@ll")}
"""SO_TIMESTAMPNS_NEW (Linux >= 5.1: a 64-bit timespec everywhere), else SO_TIMESTAMPNS_OLD
(the C library's timespec), in the order tried; the ancillary message's type is the option's
number, its data the time-stamp (seconds, nanoseconds since the epoch)."""
ANCILLARY = socket.CMSG_SPACE(16)
"""Bytes of ancillary buffer ``recvmsg`` needs for one time-stamp."""
_OWN_NUMBERING = ("alpha", "mips", "parisc", "sparc")

_SETUP_HINT = (
    "grant CAP_NET_RAW (e.g. `setcap cap_net_raw+ep` on the python binary, or "
    "AmbientCapabilities=CAP_NET_RAW in the systemd unit) or widen the sysctl "
    "net.ipv4.ping_group_range to include this process's group"
)


class IcmpSocket(Protocol):
    """What the engine needs of a socket (a seam: tests pass a fake)."""

    def fileno(self) -> int: ...
    def sendto(self, data: bytes, address: Any, /) -> int: ...
    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]: ...
    def close(self) -> None: ...


Opener = Callable[[bool], tuple[IcmpSocket, bool]]
"""``opener(v6) -> (socket, raw)``: a non-blocking ICMP socket; ``raw`` False for a datagram
("ping") socket. Raises ProbeSetupError when neither kind may be opened."""


def open_icmp_socket(v6: bool) -> tuple[IcmpSocket, bool]:
    """A raw ICMP socket, else an unprivileged datagram one; ProbeSetupError if neither."""
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    try:
        sock, raw = socket.socket(fam, socket.SOCK_RAW, proto), True
    except PermissionError:
        try:
            sock, raw = socket.socket(fam, socket.SOCK_DGRAM, proto), False
        except OSError as exc:
            raise ProbeSetupError(
                f"cannot open an ICMP{'v6' if v6 else ''} socket (raw: not permitted; "
                f"datagram: {exc.strerror}): {_SETUP_HINT}"
            ) from exc
    except OSError as exc:
        raise ProbeSetupError(f"cannot open an ICMP{'v6' if v6 else ''} socket: {exc}") from exc
    sock.setblocking(False)
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
                break
    if raw:
        _filter_types(sock, v6)
    enable_stamps(sock)
    return sock, raw


def enable_stamps(sock: socket.socket) -> int | None:
    """Ask for kernel receive time-stamps; the option that took (a key of STAMPS), or None
    where there are none (the engine then times replies with its own clock)."""
    if sys.platform != "linux" or os.uname().machine.startswith(_OWN_NUMBERING):
        return None
    for option in STAMPS:
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, 1)
        except OSError:
            continue
        return option
    return None


def _filter_types(sock: socket.socket, v6: bool) -> None:
    """Let the kernel drop ICMP types we never match (echo requests, neighbour discovery...),
    which would otherwise wake us for nothing. A set bit blocks that type."""
    if v6:  # ICMP6_FILTER: 256 bits; pass echo reply, destination unreachable, time exceeded
        words = [0xFFFFFFFF] * 8
        for kind in (129, 1, 3):
            words[kind >> 5] &= ~(1 << (kind & 31))
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack("=8I", *words))
    else:  # ICMP_FILTER on SOL_RAW (255): 32 bits; pass echo reply, unreachable, time exceeded
        mask = 0xFFFFFFFF & ~(1 << 0 | 1 << 3 | 1 << 11)
        with contextlib.suppress(OSError):
            sock.setsockopt(255, 1, struct.pack("=I", mask))
