"""The journal's hash chain: the canonical form of a record and how its hash is made.

Theory of operation
-------------------
Every fact the journal keeps is also a *chain record*, numbered ``seq`` = 1, 2, 3 ... in the
order the journal committed them (one total order, whatever the backend)::

    hash(0)   = 32 zero bytes                                  (the genesis)
    hash(seq) = SHA-256( hash(seq - 1) ‖ body(seq) )           (raw 32 bytes ‖ UTF-8 bytes)

and ``hash(seq)`` is written as 64 lowercase hex digits. The *head* is the last record's
number and hash. Changing, removing, inserting or reordering any record changes every hash
after it, so a head that someone else holds (a notice in the customer's mailbox, an RFC 3161
time-stamp) pins every record up to it.

``body`` is the canonical JSON of ``{"table": TABLE, "row": ROW}``: TABLE the journal table
the fact lives in (``path_changes``, ``incidents`` ...), ROW its columns as stored just after
the write (store/chain.py lists them per table). The canonical form is RFC 8785 (JSON
Canonicalization Scheme) for the only values a record holds:

- objects with their keys sorted (keys are ASCII column names, so code-point order);
- no whitespace at all: ``,`` and ``:`` as the only separators;
- strings as JSON strings in UTF-8, escaping only ``"``, ``\\`` and control characters
  (``\\b \\t \\n \\f \\r``, others as ``\\u00xx``, lowercase hex); no other character escaped;
- integers in plain decimal, exactly (no exponent, no ``+``, no leading zeros); there are
  no fractional numbers: a float is refused. (RFC 8785 writes numbers as IEEE doubles, so the
  two differ only for integers beyond +-2**53: times outside 1685..2255, which only a window
  stored by an old version can hold. This form keeps them exact);
- times as integers: microseconds since 1970-01-01T00:00:00Z (the journal's own unit);
- NULL as ``null``; booleans are stored as 0/1 integers;
- a binary column (a message body, compressed probe evidence, a time-stamp token) is not
  written out: the key becomes ``NAME_sha256`` and its value the SHA-256 of the bytes in
  lowercase hex, so the record stays small and the bytes are still pinned.

Recomputing a hash needs nothing but a SHA-256 and that JSON, e.g. in Python::

    h = bytes(32)
    for body in bodies:                     # each record's body, as bytes
        h = hashlib.sha256(h + body).digest()
    print(h.hex())                           # the head's hash
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = bytes(32)
"""The hash before the first record."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainHead:
    """The chain's last record: its number (0: an empty chain) and hash (64 hex digits)."""

    seq: int
    hash: str

    @property
    def text(self) -> str:
        """``record 1234 sha256:abcd...``: how notices and logs show the head."""
        return f"record {self.seq} sha256:{self.hash}"


EMPTY = ChainHead(seq=0, hash=GENESIS.hex())


class NotCanonical(ValueError):
    """A value the canonical form cannot hold (a float, a boolean, a non-string key)."""


def canonical(value: Any) -> bytes:
    """``value`` (dicts, lists, str, int, None) in the canonical form above, as UTF-8 bytes."""
    _check(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def _check(value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool):
        raise NotCanonical("a boolean: the journal stores 0/1 integers")
    if isinstance(value, int):
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str) or not k.isascii():
                raise NotCanonical(f"key {k!r}: keys are ASCII strings")
            _check(v)
        return
    if isinstance(value, list | tuple):
        for v in value:
            _check(v)
        return
    raise NotCanonical(f"{type(value).__name__} {value!r}: not a value a record holds")


def row_value(value: Any) -> Any:
    """A column's value as a record holds it: bytes become their SHA-256 (see ``row``)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value


def row(columns: tuple[str, ...], values: tuple[Any, ...], blobs: frozenset[str]) -> dict[str, Any]:
    """One stored row as a record's ``row``: a binary column ``x`` becomes ``x_sha256``."""
    return {
        (f"{c}_sha256" if c in blobs else c): row_value(v) if c in blobs else v
        for c, v in zip(columns, values, strict=True)
    }


def body(table: str, content: Mapping[str, Any]) -> bytes:
    """A record's canonical body: ``{"row": ..., "table": ...}``."""
    return canonical({"table": table, "row": dict(content)})


def link(prev: str, record: bytes) -> str:
    """``SHA-256(prev ‖ record)`` as hex; ``prev`` is the previous hash in hex."""
    return hashlib.sha256(bytes.fromhex(prev) + record).hexdigest()


HEAD_HEADER = "X-Slawatch-Chain-Head"
"""The notice header that carries the head (notify/message.py writes it)."""


def head_header(head: ChainHead) -> str:
    """``record=N; sha256=HEX``: the head as a notice's header carries it."""
    return f"record={head.seq}; sha256={head.hash}"


def parse_head(value: str) -> ChainHead | None:
    """The head in a :data:`HEAD_HEADER` value (None when it is not one; a folded header's
    whitespace is allowed)."""
    m = re.fullmatch(r"\s*record=(\d+);\s*sha256=([0-9a-f]{64})\s*", value)
    return None if m is None else ChainHead(seq=int(m[1]), hash=m[2])
