"""The ``evidence:`` section: the claim packs' signing key and the RFC 3161 time-stamp
authority that stamps the journal's chain head hourly (monitor/evidence/)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, StrictFloat, field_validator

from monitor.config.fields import Strict


class EvidenceConfig(Strict):
    key_file: Path | None = None
    """Ed25519 private key (PEM) that signs claim packs; ``slawatch evidence keygen`` makes
    one. Read by ``slawatch evidence`` only, never by the daemon."""
    tsa_url: str | None = None
    """An RFC 3161 time-stamp authority (http:// or https://): the chain head is stamped
    hourly and the token kept in the journal. None: no time-stamps."""
    tsa_ca_file: Path | None = None
    """The authority's root certificate (PEM): tokens are checked against it before they are
    kept. None: only the answer's status, imprint and nonce are checked."""
    tsa_timeout_s: StrictFloat = Field(default=10.0, gt=0, le=120)

    @field_validator("tsa_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"{value!r}: give the authority's http:// or https:// URL, e.g. "
                    "http://timestamp.example.com/tsa"
                )
        return value
