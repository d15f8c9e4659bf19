"""ICMP packets: building, parsing, checksums, and what counts as a reply at all (pure)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from monitor.probes.icmp_packet import (
    ECHO_REQUEST_V4,
    ECHO_REQUEST_V6,
    HEADER,
    MAGIC,
    PAYLOAD_LEN,
    TIME_EXCEEDED_V4,
    UNREACHABLE_V4,
    UNREACHABLE_V6,
    Echoes,
    checksum,
    echo_request,
    parse,
    token,
)
from tests.probes.crafting import icmp_error, ipv4, ipv6, reply_to, with_checksum

NONCE = b"\x01\x02\x03\x04"
US, PEER = "198.18.1.1", "198.18.2.2"


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded); the checksum is ~ddf2.
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def test_checksum_pads_an_odd_length_with_a_zero_byte() -> None:
    assert checksum(b"\x12\x34\x56") == checksum(b"\x12\x34\x56\x00")


def test_v4_request_carries_ident_seq_magic_token_and_a_valid_checksum() -> None:
    packet = echo_request(0xBEEF, 0x1234_5678, NONCE)
    kind, code, _, ident, seq = HEADER.unpack_from(packet)
    assert (kind, code, ident, seq) == (ECHO_REQUEST_V4, 0, 0xBEEF, 0x5678)
    assert packet[HEADER.size :] == MAGIC + NONCE + struct.pack("!I", 0x1234_5678)
    assert len(packet) == HEADER.size + PAYLOAD_LEN
    assert checksum(packet) == 0


def test_v6_request_leaves_the_checksum_to_the_kernel() -> None:
    packet = echo_request(7, 9, NONCE, v6=True)
    kind, _, csum, ident, seq = HEADER.unpack_from(packet)
    assert (kind, csum, ident, seq) == (ECHO_REQUEST_V6, 0, 7, 9)


@given(
    ident=st.integers(0, 0xFFFF),
    seq=st.integers(0, 0xFFFFFFFF),
    nonce=st.binary(min_size=4, max_size=4),
)
def test_incremental_checksums_equal_computed_ones(ident: int, seq: int, nonce: bytes) -> None:
    """Echoes.pair updates the checksum for the sequence only; a full computation (the
    test's, over the whole message) must agree for request and expected reply alike."""
    request, reply = Echoes(ident, nonce).pair(seq)
    assert with_checksum(request) == request
    assert reply == reply_to(request)


def test_a_checksum_that_folds_to_zero_is_written_as_zero() -> None:
    """Where the words sum to 0xFFFF the checksum is 0x0000 (never its twin 0xFFFF): search
    for such sequences, then check both packets against a full computation."""
    echoes = Echoes(1, bytes(4))
    pairs = [echoes.pair(seq) for seq in range(1 << 18)]
    zeros = [(q, r) for q, r in pairs if q[2:4] == b"\0\0" or r[2:4] == b"\0\0"]
    assert zeros  # the search found some
    for request, reply in zeros:
        assert with_checksum(request) == request and reply == reply_to(request)


def test_v6_pairs_leave_both_checksums_to_the_kernel() -> None:
    request, reply = Echoes(7, NONCE, v6=True).pair(0x1_0009)
    assert request == echo_request(7, 0x1_0009, NONCE, v6=True)
    assert reply == reply_to(request, v6=True) and reply[2:4] == b"\0\0"


@given(
    ident=st.integers(0, 0xFFFF),
    seq=st.integers(0, 0xFFFFFFFF),
    nonce=st.binary(min_size=4, max_size=4),
    v6=st.booleans(),
    ip_header=st.booleans(),
)
def test_a_reply_parses_back_to_its_request(
    ident: int, seq: int, nonce: bytes, v6: bool, ip_header: bool
) -> None:
    reply = reply_to(echo_request(ident, seq, nonce, v6=v6), v6=v6)
    has_header = ip_header and not v6  # only IPv4 raw sockets deliver the IP header
    wire = ipv4(reply, src=PEER, dst=US) if has_header else reply
    parsed = parse(wire, v6=v6, has_ip_header=has_header)
    assert parsed is not None and parsed.reply
    assert (parsed.ident, parsed.seq, parsed.token) == (ident, seq & 0xFFFF, token(nonce, seq))


@given(bit=st.integers(0, (HEADER.size + PAYLOAD_LEN) * 8 - 1))
def test_any_flipped_bit_in_a_v4_reply_is_rejected(bit: int) -> None:
    reply = bytearray(reply_to(echo_request(1, 2, NONCE)))
    reply[bit // 8] ^= 1 << (bit % 8)
    assert parse(ipv4(bytes(reply), src=PEER, dst=US), v6=False, has_ip_header=True) is None


def test_every_truncation_is_rejected() -> None:
    reply = reply_to(echo_request(1, 2, NONCE))
    for cut in range(len(reply)):
        short = with_checksum(reply[:cut]) if cut >= 4 else reply[:cut]
        assert parse(short, v6=False, has_ip_header=False) is None, cut
        assert parse(ipv4(short, src=PEER, dst=US), v6=False, has_ip_header=True) is None


def test_foreign_payloads_and_echo_requests_are_not_replies() -> None:
    ours = reply_to(echo_request(1, 2, NONCE))
    other_tool = with_checksum(ours[: HEADER.size] + b"abcdefgh" + ours[16:])
    mismatched_seq = with_checksum(ours[:6] + struct.pack("!H", 3) + ours[8:])
    request = echo_request(1, 2, NONCE)
    for packet in (other_tool, mismatched_seq, request):
        assert parse(packet, v6=False, has_ip_header=False) is None
    assert parse(echo_request(1, 2, NONCE, v6=True), v6=True, has_ip_header=False) is None


def test_a_non_ipv4_buffer_on_a_v4_raw_socket_is_rejected() -> None:
    reply = reply_to(echo_request(1, 2, NONCE))
    assert parse(b"\x60" + bytes(19) + reply, v6=False, has_ip_header=True) is None


def test_v4_unreachable_quoting_our_echo_names_code_and_destination() -> None:
    request = echo_request(0xBEEF, 70_000, NONCE)
    error = icmp_error(UNREACHABLE_V4, 1, ipv4(request, src=US, dst=PEER))
    parsed = parse(ipv4(error, src="198.18.1.2", dst=US), v6=False, has_ip_header=True)
    assert parsed is not None and not parsed.reply
    assert (parsed.ident, parsed.seq) == (0xBEEF, 70_000 & 0xFFFF)
    assert parsed.token == token(NONCE, 70_000)
    assert parsed.error == "unreachable: ICMP host unreachable"
    assert parsed.quoted_dest == PEER


def test_an_error_quoting_only_eight_bytes_of_our_echo_still_matches_without_token() -> None:
    request = echo_request(5, 6, NONCE)
    error = icmp_error(TIME_EXCEEDED_V4, 0, ipv4(request, src=US, dst=PEER)[:28])
    parsed = parse(error, v6=False, has_ip_header=False)
    assert parsed is not None
    assert (parsed.ident, parsed.seq, parsed.token) == (5, 6, None)
    assert parsed.error is not None and parsed.error.startswith("time exceeded")


def test_errors_about_other_packets_are_ignored() -> None:
    udp = ipv4(struct.pack("!HHHH", 1000, 53, 8, 0), src=US, dst=PEER, proto=17)
    assert parse(icmp_error(UNREACHABLE_V4, 3, udp), v6=False, has_ip_header=False) is None
    quoted_reply = ipv4(reply_to(echo_request(1, 2, NONCE)), src=US, dst=PEER)
    assert parse(icmp_error(UNREACHABLE_V4, 3, quoted_reply), v6=False, has_ip_header=False) is None
    unknown_code = icmp_error(UNREACHABLE_V4, 15, ipv4(echo_request(1, 2, NONCE), src=US, dst=PEER))
    parsed = parse(unknown_code, v6=False, has_ip_header=False)
    assert parsed is not None and parsed.error == "unreachable: ICMP code 15"


def test_v6_unreachable_quoting_our_echo() -> None:
    request = echo_request(9, 10, NONCE, v6=True)
    quoted = ipv6(request, src="2001:db8::1", dst="2001:db8::2")
    parsed = parse(icmp_error(UNREACHABLE_V6, 3, quoted, v6=True), v6=True, has_ip_header=False)
    assert parsed is not None and not parsed.reply
    assert parsed.error == "unreachable: ICMP address unreachable"
    assert parsed.quoted_dest == "2001:db8::2"
    not_icmp = ipv6(request, src="2001:db8::1", dst="2001:db8::2", next_header=17)
    error = icmp_error(UNREACHABLE_V6, 3, not_icmp, v6=True)
    assert parse(error, v6=True, has_ip_header=False) is None
