"""RFC 3161 time-stamps of the journal's chain head. The only module that imports
``rfc3161_client``.

What is stamped: the head hash's 32 raw bytes (so the token's message imprint is
SHA-256(those bytes)). The token kept is the authority's whole ``TimeStampResp`` (DER), which
``openssl ts -reply -in T.tsr -text`` prints and ``openssl ts -verify -in T.tsr -data H.bin
-CAfile CA.pem`` checks, ``H.bin`` being the head hash as bytes (``xxd -r -p``).

A request carries a nonce and asks for the authority's certificate. An answer is kept only
when it grants the request and its imprint and nonce are ours; with the authority's root
certificate (``evidence.tsa_ca_file``) its signature and certificate chain are checked too.
The HTTP exchange is blocking (urllib): call :func:`stamp` off the event loop.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from monitor.core.chain import ChainHead
from monitor.core.errors import MonitorError
from monitor.evidence.crypto import certificates

MAX_ANSWER = 1 << 20
"""Bytes read of an authority's answer at most (a token is a few KiB)."""


class TsaError(MonitorError):
    """The time-stamp authority could not be reached, refused, or answered wrongly."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """What a token says: when (``at``, the authority's genTime, UTC) and over what
    (``imprint``, hex of the SHA-256 it stamped)."""

    at: datetime
    imprint: str
    serial: int


def imprint_of(head: ChainHead) -> str:
    """The message imprint a token over ``head`` carries: SHA-256 of its hash's raw bytes."""
    return hashlib.sha256(bytes.fromhex(head.hash)).hexdigest()


def stamp(url: str, head: ChainHead, *, timeout_s: float, ca_file: Path | None = None) -> bytes:
    """Ask the authority at ``url`` to time-stamp ``head``; the DER TimeStampResp."""
    data = bytes.fromhex(head.hash)
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    answer = _post(url, request.as_bytes(), timeout_s)
    try:
        response = decode_timestamp_response(answer)
    except ValueError as exc:
        raise TsaError(f"evidence.tsa_url {url}: not an RFC 3161 answer ({exc})") from None
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        said = "; ".join(response.status_string) or "no reason given"
        raise TsaError(f"evidence.tsa_url {url}: refused (status {response.status}: {said})")
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise TsaError(f"evidence.tsa_url {url}: the token stamps something else")
    if info.nonce != request.nonce:
        raise TsaError(f"evidence.tsa_url {url}: the token's nonce is not ours (a replay?)")
    if ca_file is not None:
        builder = VerifierBuilder.from_request(request)
        for cert in certificates(ca_file):
            builder = builder.add_root_certificate(cert)
        try:
            builder.build().verify_message(response, data)
        except VerificationError as exc:
            raise TsaError(f"evidence.tsa_url {url}: the token does not verify against "
                           f"evidence.tsa_ca_file {ca_file} ({exc})") from None  # fmt: skip
    return answer


def _post(url: str, body: bytes, timeout_s: float) -> bytes:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/timestamp-query"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as reply:
            if reply.headers.get_content_type() != "application/timestamp-reply":
                kind = reply.headers.get_content_type()
                raise TsaError(f"evidence.tsa_url {url}: answered {kind}, not a time-stamp reply")
            return bytes(reply.read(MAX_ANSWER))
    except urllib.error.HTTPError as exc:
        raise TsaError(f"evidence.tsa_url {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TsaError(f"evidence.tsa_url {url}: cannot reach it ({reason})") from None


def read(token: bytes) -> Token:
    """What a stored token says (no signature check: see the module docstring for openssl)."""
    try:
        info = decode_timestamp_response(token).tst_info
    except ValueError as exc:
        raise TsaError(f"not an RFC 3161 time-stamp reply ({exc})") from None
    return Token(at=info.gen_time.astimezone(UTC) if info.gen_time.tzinfo else
                 info.gen_time.replace(tzinfo=UTC),
                 imprint=info.message_imprint.message.hex(), serial=info.serial_number)  # fmt: skip
