"""What the ICMP engine keeps about echoes in flight (icmp.py): sockets, batches, probes,
and the address forms a reply's source is compared with.

Plain classes with ``__slots__`` rather than dataclasses: the engine makes one ``Probe`` per
echo, and building one must cost well under a microsecond. A batch keeps its outcomes as plain
lists (RTT or error per position) and makes ``ProbeResult`` values only when asked: building
20,480 frozen dataclasses costs ``slawatch ping`` more than its replies' matching does.
"""

from __future__ import annotations

import functools
import socket
import struct
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from monitor.core.errors import InputError
from monitor.probes.icmp_loop import Waiter
from monitor.probes.icmp_packet import ECHO_REPLY_V4, ECHO_REPLY_V6, Echoes
from monitor.probes.icmp_socket import IcmpSocket

if TYPE_CHECKING:
    from monitor.core.model import ProbeResult


class Family:
    """One socket, and how its replies compare with what we expect: from byte ``skip`` of
    the ICMP message on, and with type ``reply_kind`` where the comparison skips it."""

    __slots__ = (
        "echoes",
        "fd",
        "pair",
        "params",
        "raw",
        "reply_kind",
        "sendto",
        "skip",
        "sock",
        "strip_ip",
        "v6",
    )

    def __init__(self, sock: IcmpSocket, raw: bool, v6: bool, echoes: Echoes) -> None:
        self.sock, self.raw, self.v6, self.echoes = sock, raw, v6, echoes
        self.sendto, self.fd = sock.sendto, sock.fileno()
        self.strip_ip = raw and not v6  # only IPv4 raw sockets hand us the IP header
        # Leading reply bytes left out of the comparison: none on IPv4 raw sockets (the
        # checksum is ours to check); the checksum on IPv6 (the kernel checked it, over a
        # pseudo-header); on datagram sockets the identifier too (the kernel's own).
        self.skip = 0 if self.strip_ip else 6 if not raw else 4
        self.reply_kind = ECHO_REPLY_V6 if v6 else ECHO_REPLY_V4
        self.pair: Callable[[int], tuple[bytes, bytes]] = (
            echoes.pair if not self.skip else self._pair_from_skip
        )
        """``pair(seq)``: (request, its reply as compared: from byte ``skip`` on)."""
        self.params = echoes.params(self.skip)
        """The same, for the C ``enqueue`` (``Echoes.params``)."""

    def _pair_from_skip(self, seq: int) -> tuple[bytes, bytes]:
        request, reply = self.echoes.pair(seq)
        return request, reply[self.skip :]


class Batch:
    """One call's echoes, by position: ``rtts`` (seconds, None until answered), ``errors``
    (why not), ``ats`` (send times); ``future`` is set when every one has ended."""

    __slots__ = ("at", "ats", "errors", "future", "left", "rtts", "targets", "timeout")

    def __init__(
        self,
        targets: list[str],
        future: Waiter,
        *,
        timeout: float,
        at: datetime | None,
    ) -> None:
        n = len(targets)
        self.targets, self.future, self.at = targets, future, at
        self.timeout, self.left = timeout, n
        self.rtts: list[float | None] = [None] * n
        self.errors: list[str | None] = [None] * n
        self.ats: list[datetime | None] = [at] * n

    def ended(self) -> None:
        """One more echo has ended (its outcome is recorded)."""
        self.left -= 1
        if not self.left and not self.future.done():
            self.future.set_result(None)

    def results(self) -> list[ProbeResult]:
        """The outcomes as ProbeResults, in the targets' order (after ``future``)."""
        from monitor.core.model import ProbeResult  # dataclasses: not for slawatch ping

        ats = cast(list[datetime], self.ats)  # each set when its echo was sent or ended
        return [
            ProbeResult(target=t, at=at, ok=rtt is not None, rtt=rtt, error=error)
            for t, at, rtt, error in zip(self.targets, ats, self.rtts, self.errors, strict=True)
        ]


class Probe:
    """One echo in flight: ``expect`` is its reply as its family compares it; ``sent`` the
    loop clock right before its ``sendto``, in ns; ``sockaddr`` the destination as the C
    library's ``struct sockaddr_in``/``sockaddr_in6`` (for the native path, icmp_native)."""

    __slots__ = (
        "addr",
        "batch",
        "dest",
        "expect",
        "fam",
        "index",
        "packet",
        "sent",
        "sockaddr",
        "wire",
    )

    def __init__(
        self,
        addr: str,
        dest: tuple[str, int],
        sockaddr: bytes,
        fam: Family,
        wire: int,
        packet: bytes,
        expect: bytes,
        batch: Batch,
        index: int,
    ) -> None:
        self.addr, self.dest, self.sockaddr, self.fam, self.wire = addr, dest, sockaddr, fam, wire
        self.packet, self.expect, self.batch, self.index = packet, expect, batch, index
        self.sent = 0


@functools.lru_cache(maxsize=65536)
def address(target: str) -> tuple[str, bool, tuple[str, int], bytes]:
    """(canonical address, is IPv6, sendto's address, the same as a C ``struct sockaddr``) of
    a target; InputError if it is not an IP address. Cached: the daemon probes the same few
    thousand addresses again and again."""
    try:
        return canon(target), ":" in target, (target, 0), sockaddr(target)
    except (OSError, ValueError):
        raise InputError(f"ICMP target {target!r} is not an IP address") from None


def sockaddr(target: str) -> bytes:
    """``target`` as Linux's ``struct sockaddr_in`` (16 bytes) or ``sockaddr_in6`` (28, with
    the scope of an address such as ``fe80::1%eth0``), port 0; OSError if not an address."""
    if ":" not in target:
        return _SOCKADDR_IN.pack(socket.AF_INET, b"", socket.inet_pton(socket.AF_INET, target))
    host, _, scope = target.partition("%")
    packed = socket.inet_pton(socket.AF_INET6, host)
    return _SOCKADDR_IN6.pack(socket.AF_INET6, b"", 0, packed, _scope_id(scope))


def _scope_id(scope: str) -> int:
    """The interface index of an IPv6 scope (a name or a number); 0 for none or an unknown
    name, whose sends the kernel then refuses (an immediate loss that says why)."""
    if scope.isdigit():
        return int(scope)
    try:
        return socket.if_nametoindex(scope) if scope else 0
    except OSError:
        return 0


_SOCKADDR_IN = struct.Struct("=H2s4s8x")  # family (host order), port, address, zero
_SOCKADDR_IN6 = struct.Struct("=H2sI16sI")  # family, port, flow information, address, scope


def canon(address: str) -> str:
    """The address as the kernel writes a source address (inet_ntop's form, no IPv6 scope);
    OSError if it is not an IP address."""
    if ":" not in address:
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, address))
    host = address.split("%", 1)[0]
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host))


def same_host(source: str, addr: str) -> bool:
    """Whether a reply's source is ``addr`` (canonical): IPv4 sources come as dotted quads
    already; IPv6 text may differ in form or carry a scope."""
    if source == addr:
        return True
    try:
        return ":" in source and canon(source) == addr
    except (OSError, ValueError):
        return False
