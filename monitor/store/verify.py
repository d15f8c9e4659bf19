"""Walking the journal's chain: every record's hash, and every chained row against its record.

Three things are checked, and the first failure (by record number) is named:

1. the records: numbered 1, 2, 3 ... without a hole; each body in canonical form, naming the
   table and key it says; each hash ``SHA-256(previous hash ‖ body)`` (core/chain.py); the
   stored head (``chain_head``) is the last record;
2. every chained row (store/chain.py) equals its latest record: a row changed, or rows
   swapped, after the fact fails here;
3. every record's row still exists, and every chained row has a record: a deleted row, or
   one added behind slawatch's back, fails here.

What it cannot see: records cut off the end of the chain together with their rows and the
head (a shorter chain is a valid chain); that is what heads held elsewhere are for (a
notice's header and footer, an RFC 3161 time-stamp): ``slawatch verify`` prints the head so
it can be compared with them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from monitor.core.chain import EMPTY, ChainHead, NotCanonical, canonical, link, row
from monitor.store.chain import CHAINED
from monitor.store.db import Database, Reads, Row

BATCH = 5000
"""Records read per query."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainCheck:
    """What :func:`verify` found: ``records`` walked, the ``head`` it reached (the last good
    record), and the first ``problem`` (None: intact) with the record it names (``seq``)."""

    records: int
    head: ChainHead
    problem: str | None = None
    seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Problem:
    seq: int
    text: str


def records(db: Reads, lo: int = 1, hi: int | None = None) -> Iterator[Row]:
    """(seq, kind, ref, body, hash) of records ``lo``..``hi`` (default: to the end), in order."""
    after = lo - 1
    while True:
        top = [] if hi is None else [hi]
        rows = db.query(
            "SELECT seq, kind, ref, body, hash FROM chain WHERE seq > ?"
            + ("" if hi is None else " AND seq <= ?")
            + f" ORDER BY seq LIMIT {BATCH}",
            (after, *top),
        )
        yield from rows
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


def verify(db: Database) -> ChainCheck:
    """Walk the whole chain and every chained table; see the module docstring. One snapshot
    of the journal: the daemons (two NOC hosts) may go on writing meanwhile."""
    with db.snapshot() as reads:
        return _walk(reads)


def _walk(db: Reads) -> ChainCheck:
    prev, n = EMPTY, 0
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, kind, ref, body, h in records(db):
        where = f"record {seq} ({kind} {ref})"
        if seq != prev.seq + 1:
            missing = f"record {prev.seq + 1} is missing: record {prev.seq} is followed by {seq}"
            return ChainCheck(records=n, head=prev, problem=missing, seq=prev.seq + 1)
        trouble = _body_trouble(kind, ref, body)
        if trouble is None and link(prev.hash, body.encode("utf-8")) != h:
            trouble = "its hash does not match its body and the record before it"
        if trouble is not None:
            return ChainCheck(records=n, head=prev, problem=f"{where}: {trouble}", seq=seq)
        latest[(kind, ref)] = (seq, _digest(json.loads(body)["row"]))
        prev, n = ChainHead(seq=seq, hash=h), n + 1
    [(seq, h)] = db.query("SELECT seq, hash FROM chain_head WHERE id = 1")
    if (seq, h) != (prev.seq, prev.hash):
        text = f"the stored head (record {seq}) is not the chain's last record ({prev.seq})"
        return ChainCheck(records=n, head=prev, problem=text, seq=prev.seq)
    problems = list(_rows(db, latest))
    if problems:
        first = min(problems, key=lambda p: p.seq)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return ChainCheck(records=n, head=prev, problem=first.text + more, seq=first.seq)
    return ChainCheck(records=n, head=prev)


def _body_trouble(kind: str, ref: str, body: str) -> str | None:
    """Why a record's body is not a canonical record of ``kind`` ``ref`` (None: it is)."""
    try:
        parsed = json.loads(body)
        if canonical(parsed) != body.encode("utf-8"):
            return "its body is not in canonical form"
        table, content = parsed["table"], parsed["row"]
        spec = CHAINED[table]
        key = content[spec.columns[0]]
    except (ValueError, KeyError, TypeError, NotCanonical) as exc:
        return f"its body is not a record ({type(exc).__name__}: {exc})"
    if (table, str(key)) != (kind, ref):
        return f"its body is about {table} {key}"
    return None


def _digest(content: object) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def _rows(db: Reads, latest: dict[tuple[str, str], tuple[int, str]]) -> Iterator[_Problem]:
    """Every chained row against its latest record; then the records left with no row."""
    end = max((seq for seq, _ in latest.values()), default=0) + 1
    for t in CHAINED.values():
        where = f" WHERE {t.where}" if t.where else ""
        for values in db.query(f"SELECT {t.select} FROM {t.name}{where}"):
            key = (t.name, str(values[0]))
            found = latest.pop(key, None)
            if found is None:
                yield _Problem(seq=end, text=f"{t.name} {values[0]} is in no chain record "
                               "(added or changed behind slawatch's back)")  # fmt: skip
                continue
            seq, digest = found
            if _digest(row(t.columns, tuple(values), t.blobs)) != digest:
                text = f"record {seq} ({t.name} {values[0]}): the row differs from its record"
                yield _Problem(seq=seq, text=text + " (changed after it was written)")
    for (kind, ref), (seq, _) in latest.items():
        yield _Problem(seq=seq, text=f"record {seq} ({kind} {ref}): the row is missing "
                       f"from {kind} (deleted)")  # fmt: skip
