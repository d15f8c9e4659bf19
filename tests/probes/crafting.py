"""Hand-made ICMP packets for tests: what a network (or a stranger) might send us."""

from __future__ import annotations

import ipaddress
import struct

from monitor.probes.icmp_packet import ECHO_REPLY_V4, ECHO_REPLY_V6, HEADER, checksum


def with_checksum(icmp: bytes) -> bytes:
    """``icmp`` with its IPv4 checksum field recomputed."""
    zeroed = icmp[:2] + b"\0\0" + icmp[4:]
    return zeroed[:2] + struct.pack("!H", checksum(zeroed)) + zeroed[4:]


def ipv4(icmp: bytes, *, src: str, dst: str, proto: int = 1) -> bytes:
    """``icmp`` behind a 20-byte IPv4 header, as an IPv4 raw socket delivers it."""
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, proto, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + icmp


def ipv6(payload: bytes, *, src: str, dst: str, next_header: int = 58) -> bytes:
    """A 40-byte IPv6 header and ``payload`` (only ever quoted inside an ICMPv6 error)."""
    return (
        struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def reply_to(request: bytes, *, v6: bool = False, ident: int | None = None) -> bytes:
    """The echo reply a host sends for ``request`` (ICMP only), optionally with another
    identifier (as the kernel does for datagram sockets)."""
    _, _, _, req_ident, seq = HEADER.unpack_from(request)
    ident = req_ident if ident is None else ident
    reply = HEADER.pack(ECHO_REPLY_V6 if v6 else ECHO_REPLY_V4, 0, 0, ident, seq)
    reply += request[HEADER.size :]
    return reply if v6 else with_checksum(reply)


def icmp_error(kind: int, code: int, quoted: bytes, *, v6: bool = False) -> bytes:
    """An ICMP error message quoting ``quoted`` (an IP packet)."""
    message = HEADER.pack(kind, code, 0, 0, 0) + quoted
    return message if v6 else with_checksum(message)
