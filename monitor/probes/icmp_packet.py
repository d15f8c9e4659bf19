"""ICMP echo packets: build, parse and check, with no sockets (pure functions).

An echo request carries our identifier, a 16-bit wire sequence and a 16-byte payload::

    b"slawatch" | nonce (4 bytes, one per engine) | sequence (32 bits)

The payload comes back verbatim in the reply, so a reply is ours only if the identifier, the
wire sequence, the payload token (nonce + 32-bit sequence) and the source address all agree.
The nonce tells apart two engines that happen to share an identifier (1 in 65,536 for two
processes, and always for datagram sockets, where the kernel picks the identifier); the
32-bit sequence tells a late reply from the reply to a newer probe that reuses the 16-bit
wire number.

IPv4 raw sockets deliver the IP header too; IPv6 raw sockets and datagram ("ping") sockets
deliver the ICMP message alone. The IPv4 checksum is verified here; for ICMPv6 the kernel
verifies it (it covers a pseudo-header we never see) and fills it in on send.

The engine's hot path does not parse a reply at all: ``Echoes.pair`` gives, with each request,
the exact bytes its reply must carry (checksum included, computed incrementally), so one
comparison checks identifier, sequence, payload and checksum at once; ``parse`` is the slow
path, for ICMP errors and for anything that does not compare equal.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

ECHO_REQUEST_V4, ECHO_REPLY_V4, UNREACHABLE_V4, TIME_EXCEEDED_V4 = 8, 0, 3, 11
ECHO_REQUEST_V6, ECHO_REPLY_V6, UNREACHABLE_V6, TIME_EXCEEDED_V6 = 128, 129, 1, 3
MAGIC = b"slawatch"
TOKEN_LEN = 8
"""Bytes after the magic: nonce (4) + 32-bit sequence (4)."""
PAYLOAD_LEN = len(MAGIC) + TOKEN_LEN
HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_TOKEN = struct.Struct("!4sI")
_ECHO = struct.Struct("!BBHHH8s4xI")  # header, magic, (nonce), 32-bit sequence
_PAIR = struct.Struct("!HHHH12sI")  # type and code, checksum, ident, seq, magic + nonce, seq32
_REQUEST_WORD, _REPLY_WORD = ECHO_REQUEST_V4 << 8, ECHO_REPLY_V4 << 8  # type and code (0)
_TO_REPLY = (0xFFFF ^ _REQUEST_WORD) + _REPLY_WORD  # ones' complement: less 0x0800

# Why a destination was unreachable, by ICMP code, for the result's error text.
_UNREACHABLE_V4 = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}
_UNREACHABLE_V6 = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed policy",
    6: "reject route to destination",
}


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``: 0 when computed over a valid message.

    The ones'-complement sum of 16-bit words is the big-endian integer of ``data`` modulo
    0xFFFF (because 0x10000 = 1 modulo 0xFFFF), with 0xFFFF standing for 0 unless every word
    is zero: one C-level division instead of a Python loop over the words.
    """
    if len(data) % 2:
        data += b"\0"
    folded = int.from_bytes(data, "big") % 0xFFFF
    if folded == 0 and data.count(0) != len(data):
        folded = 0xFFFF
    return 0xFFFF - folded


def token(nonce: bytes, seq: int) -> bytes:
    """The 8 payload bytes after the magic that identify one probe of one engine."""
    return _TOKEN.pack(nonce, seq & 0xFFFFFFFF)


def echo_request(ident: int, seq: int, nonce: bytes, *, v6: bool = False) -> bytes:
    """An echo request with wire sequence ``seq & 0xFFFF`` and our payload.

    For IPv6 the checksum field is left 0: the kernel computes it over its pseudo-header.
    """
    return Echoes(ident, nonce, v6=v6).pair(seq)[0]


def _words(data: bytes) -> int:
    """The plain (unfolded) sum of the 16-bit big-endian words of ``data`` (even length)."""
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


class Echoes:
    """The echo requests of one engine (identifier and nonce fixed) and their replies.

    Only the sequence words change from one request to the next, so the IPv4 checksum is the
    constant words' sum plus those (RFC 1624's incremental update). A ones'-complement sum is
    the plain sum modulo 0xFFFF, with 0xFFFF standing for 0 (our words are never all zero):
    one ``%`` instead of folding the carries back twice, as this runs for every echo. A reply
    differs from its request only in the type (echo reply is 0), so its sum is the request's
    less 0x0800.
    """

    def __init__(self, ident: int, nonce: bytes, *, v6: bool = False) -> None:
        self._ident, self._v6 = ident & 0xFFFF, v6
        self._payload = MAGIC + nonce  # the payload before the 32-bit sequence
        self._kinds = (ECHO_REQUEST_V6, ECHO_REPLY_V6) if v6 else (ECHO_REQUEST_V4, ECHO_REPLY_V4)
        # every word of a request but the wire sequence and the payload's 32-bit sequence
        self._sum = (_REQUEST_WORD + self._ident + _words(self._payload)) % 0xFFFF
        self._pack = _PAIR.pack

    def params(self, skip: int) -> tuple[int, int, int, bool, int, int, bytes]:
        """What the C ``enqueue`` (_native.c) needs to build ``pair``'s bytes itself:
        (identifier, constant words' sum, reply bytes skipped, IPv6, request and reply type
        words, payload before the 32-bit sequence)."""
        request, reply = self._kinds
        return self._ident, self._sum, skip, self._v6, request << 8, reply << 8, self._payload

    def pair(self, seq: int) -> tuple[bytes, bytes]:
        """(request, its reply) for 32-bit sequence ``seq``, wire sequence ``seq & 0xFFFF``.

        IPv6: both checksum fields 0 (the kernel fills in the request's and verifies the
        reply's; it covers a pseudo-header we never see).
        """
        seq &= 0xFFFFFFFF
        wire, ident, payload, pack = seq & 0xFFFF, self._ident, self._payload, self._pack
        if self._v6:
            req_kind, rep_kind = self._kinds
            return (
                pack(req_kind << 8, 0, ident, wire, payload, seq),
                pack(rep_kind << 8, 0, ident, wire, payload, seq),
            )
        req = (self._sum + 2 * wire + (seq >> 16)) % 0xFFFF or 0xFFFF  # low half of seq: wire
        rep = (req + _TO_REPLY) % 0xFFFF or 0xFFFF
        return (
            pack(_REQUEST_WORD, 0xFFFF ^ req, ident, wire, payload, seq),
            pack(_REPLY_WORD, 0xFFFF ^ rep, ident, wire, payload, seq),
        )


class Parsed(NamedTuple):
    """What a received packet says about an echo: its reply, or an ICMP error quoting it.

    (A named tuple rather than a frozen dataclass: one is made per packet received, and a
    frozen dataclass costs twice as much to build, a measurable share of a probe's CPU.)

    ``seq`` is the 16-bit wire sequence; ``token`` the payload's nonce + 32-bit sequence
    (None when an error quotes too little of the request to include it). For errors,
    ``error`` is the text for the probe result and ``quoted_dest`` the address the quoted
    echo was sent to.
    """

    reply: bool
    ident: int
    seq: int
    token: bytes | None
    error: str | None = None
    quoted_dest: str | None = None


def _strip_ipv4(packet: bytes) -> bytes | None:
    """The IPv4 payload, or None if this is not a whole IPv4 header."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    return packet[ihl:] if ihl >= 20 and len(packet) >= ihl else None


def _token_of(icmp: bytes) -> bytes | None:
    """The token of an echo carrying our magic, None for a foreign or truncated payload."""
    if len(icmp) < _ECHO.size or icmp[HEADER.size : HEADER.size + len(MAGIC)] != MAGIC:
        return None
    return icmp[HEADER.size + len(MAGIC) : _ECHO.size]


def parse(packet: bytes, *, v6: bool, has_ip_header: bool) -> Parsed | None:
    """An echo reply carrying our payload, or an ICMP error quoting an echo request.

    None for anything else: truncated packets, a bad IPv4 checksum, other ICMP types
    (echo requests included), replies without our magic. (This runs once per packet
    received, so it unpacks a reply in one go.)
    """
    icmp = _strip_ipv4(packet) if has_ip_header else packet
    if icmp is None or len(icmp) < HEADER.size or (not v6 and checksum(icmp)):
        return None
    kind = icmp[0]
    if kind == (ECHO_REPLY_V6 if v6 else ECHO_REPLY_V4):
        if len(icmp) < _ECHO.size:
            return None
        _, _, _, ident, seq, magic, seq32 = _ECHO.unpack_from(icmp)
        if magic != MAGIC or seq32 & 0xFFFF != seq:
            return None
        return Parsed(
            reply=True, ident=ident, seq=seq, token=icmp[_ECHO.size - TOKEN_LEN : _ECHO.size]
        )
    if kind in ((UNREACHABLE_V6, TIME_EXCEEDED_V6) if v6 else (UNREACHABLE_V4, TIME_EXCEEDED_V4)):
        return _quoted(icmp[HEADER.size :], kind, icmp[1], v6=v6)
    return None


def _quoted(inner: bytes, kind: int, code: int, *, v6: bool) -> Parsed | None:
    """An ICMP error quotes the offending packet (IP header + at least 8 bytes of ICMP)."""
    if v6:
        if len(inner) < 40 or inner[0] >> 4 != 6 or inner[6] != 58:  # next header: ICMPv6
            return None
        dest, quoted = socket.inet_ntop(socket.AF_INET6, inner[24:40]), inner[40:]
    else:
        stripped = _strip_ipv4(inner)
        if stripped is None or inner[9] != 1:  # protocol: ICMP
            return None
        dest, quoted = socket.inet_ntop(socket.AF_INET, inner[16:20]), stripped
    if len(quoted) < HEADER.size:
        return None
    qkind, _, _, ident, seq = HEADER.unpack_from(quoted)
    if qkind != (ECHO_REQUEST_V6 if v6 else ECHO_REQUEST_V4):
        return None
    if kind == (UNREACHABLE_V6 if v6 else UNREACHABLE_V4):
        why = (_UNREACHABLE_V6 if v6 else _UNREACHABLE_V4).get(code, f"code {code}")
        error = f"unreachable: ICMP {why}"
    else:
        error = f"time exceeded: ICMP {'hop limit' if v6 else 'TTL'} exceeded in transit"
    tok = _token_of(quoted)
    return Parsed(reply=False, ident=ident, seq=seq, token=tok, error=error, quoted_dest=dest)
