"""ICMP echo packets: build, parse and check, with no sockets (pure functions).

An echo request carries our identifier and sequence number and a payload of an 8-byte magic
plus the sequence again, so a reply is ours only if type, identifier, sequence, payload and
source all match. IPv4 raw sockets deliver the IP header too; IPv6 raw and datagram sockets
deliver the ICMP message alone.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ECHO_REQUEST_V4, ECHO_REPLY_V4, UNREACHABLE_V4, TIME_EXCEEDED_V4 = 8, 0, 3, 11
ECHO_REQUEST_V6, ECHO_REPLY_V6, UNREACHABLE_V6, TIME_EXCEEDED_V6 = 128, 129, 1, 3
MAGIC = b"slawatch"
PAYLOAD_LEN = len(MAGIC) + 4
_HEADER = struct.Struct("!BBHHH")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, *, v6: bool = False) -> bytes:
    """An echo request; for IPv6 the kernel fills in the checksum (it covers a pseudo-header)."""
    kind = ECHO_REQUEST_V6 if v6 else ECHO_REQUEST_V4
    payload = MAGIC + struct.pack("!I", seq)
    if v6:
        return _HEADER.pack(kind, 0, 0, ident, seq & 0xFFFF) + payload
    body = _HEADER.pack(kind, 0, 0, ident, seq & 0xFFFF) + payload
    return _HEADER.pack(kind, 0, checksum(body), ident, seq & 0xFFFF) + payload


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """What a received packet says: an echo reply, or an error about one of our echoes."""

    reply: bool
    ident: int
    seq: int
    error: str | None = None
    request: bool = False  # an echo request (ours looped back, or someone's): not a reply
    quoted_dest: str | None = None  # for errors: where the quoted echo was going


def _strip_ipv4(packet: bytes) -> bytes | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    return packet[ihl:] if len(packet) >= ihl else None


def parse(packet: bytes, *, v6: bool, has_ip_header: bool) -> Parsed | None:
    """Our echo reply or an ICMP error quoting our echo request; None for anything else
    (truncated, corrupt checksum, other types, foreign payload)."""
    icmp = _strip_ipv4(packet) if has_ip_header else packet
    if icmp is None or len(icmp) < _HEADER.size:
        return None
    kind, code, _, ident, seq = _HEADER.unpack_from(icmp)
    if not v6 and checksum(icmp) != 0:
        return None
    if kind == (ECHO_REPLY_V6 if v6 else ECHO_REPLY_V4):
        payload = icmp[_HEADER.size : _HEADER.size + PAYLOAD_LEN]
        if len(payload) != PAYLOAD_LEN or payload[:8] != MAGIC:
            return None
        (full_seq,) = struct.unpack("!I", payload[8:])
        if full_seq & 0xFFFF != seq:
            return None
        return Parsed(reply=True, ident=ident, seq=full_seq)
    if kind == (ECHO_REQUEST_V6 if v6 else ECHO_REQUEST_V4):
        return Parsed(reply=False, ident=ident, seq=seq, request=True)
    errors = (UNREACHABLE_V6, TIME_EXCEEDED_V6) if v6 else (UNREACHABLE_V4, TIME_EXCEEDED_V4)
    if kind in errors:
        return _quoted(icmp[8:], kind, code, v6=v6)
    return None


def _quoted(inner: bytes, kind: int, code: int, *, v6: bool) -> Parsed | None:
    """An ICMP error quotes the offending packet: find our echo request in it."""
    quoted = inner[40:] if v6 else _strip_ipv4(inner)
    if v6:
        dest = str(ipaddress.IPv6Address(inner[24:40])) if len(inner) >= 40 else None
    else:
        dest = str(ipaddress.IPv4Address(inner[16:20])) if len(inner) >= 20 else None
    if quoted is None or len(quoted) < _HEADER.size:
        return None
    qkind, _, _, ident, seq = _HEADER.unpack_from(quoted)
    if qkind != (ECHO_REQUEST_V6 if v6 else ECHO_REQUEST_V4):
        return None
    unreachable = kind == (UNREACHABLE_V6 if v6 else UNREACHABLE_V4)
    what = "unreachable" if unreachable else "time exceeded"
    return Parsed(
        reply=False, ident=ident, seq=seq, error=f"{what} (code {code})", quoted_dest=dest
    )
