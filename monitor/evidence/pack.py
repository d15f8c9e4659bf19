"""Claim packs: a zip anyone can check with nothing but the pack and slawatch's public key.

Layout (every name below is a member; ``manifest.json`` lists the rest)::

    manifest.json     canonical JSON (core/chain.py): format, subject, journal id, creation
                      time, signing key's fingerprint, the chain head the pack links to, the
                      first chain record it holds and the hash before it, which member each
                      chain record pins ("links"), and the SHA-256 of every other member
    manifest.sig      the 64-byte Ed25519 signature of manifest.json's exact bytes
    chain.jsonl       chain records first..head, one canonical JSON object a line:
                      {"body": "...", "hash": "...", "kind": "...", "ref": "...", "seq": N}
    incident-N.json, month-YYYY-MM.json, timeline-N.json, report.pdf, evidence/*.json.gz,
    notices/*.eml, notices/*.answers.json, timestamps/*.tsr, README.txt

Checking (:func:`check`), in this order, each failure naming its member:

1. ``manifest.sig`` is the key's signature of ``manifest.json`` (a changed manifest or
   signature, or another key, fails here: the manifest also names the key's fingerprint);
2. every member listed is there with its SHA-256, and nothing else is in the zip;
3. ``chain.jsonl`` recomputes from ``prev_hash`` to the manifest's head, record by record;
4. each linked member's SHA-256 is the one its chain record holds (a notice's bytes in the
   ``outbox`` record, raw evidence in ``probe_evidence``, a token in ``timestamps``);
5. each notice's ``X-Slawatch-Chain-Head`` is a record of that chain (the head the customer's
   mailbox holds is part of it).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.core.chain import HEAD_HEADER, ChainHead, canonical, link, parse_head
from monitor.evidence import crypto

FORMAT = "slawatch-claim-pack/1"
MANIFEST, SIGNATURE, CHAIN = "manifest.json", "manifest.sig", "chain.jsonl"
PINNED_BY = {"outbox": "body_sha256", "probe_evidence": "data_sha256", "timestamps": "token_sha256"}
"""The row field of a chain record that holds a linked member's SHA-256, per table."""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One file of a pack; ``record``: the chain record that pins its bytes, if one does."""

    name: str
    data: bytes
    record: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """A chain record as a pack holds it."""

    seq: int
    kind: str
    ref: str
    body: str
    hash: str

    def line(self) -> bytes:
        return canonical({"seq": self.seq, "kind": self.kind, "ref": self.ref,
                          "body": self.body, "hash": self.hash})  # fmt: skip


def build(
    members: Sequence[Member],
    *,
    subject: Mapping[str, Any],
    journal: str,
    created: datetime,
    head: ChainHead,
    records: Sequence[Record],
    prev: str,
    key: Any,
) -> bytes:
    """The pack's zip bytes: ``members`` plus the chain, manifest and signature. ``records``
    are the chain from some record up to ``head``; ``prev`` the hash before the first."""
    chain = Member(name=CHAIN, data=b"".join(r.line() + b"\n" for r in records))
    files = [*members, chain]
    manifest = canonical({
        "format": FORMAT,
        "subject": dict(subject),
        "journal": journal,
        "created_at": created.isoformat(),
        "key": crypto.fingerprint(crypto.public_of(key)),
        "head": {"seq": head.seq, "hash": head.hash},
        "chain": {"first": records[0].seq if records else head.seq + 1, "prev_hash": prev},
        "links": {m.name: m.record for m in members if m.record is not None},
        "files": {m.name: hashlib.sha256(m.data).hexdigest() for m in files},
    })  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [(MANIFEST, manifest), (SIGNATURE, crypto.sign(key, manifest)),
                           *sorted((m.name, m.data) for m in files)]:  # fmt: skip
            z.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data)
    return out.getvalue()


@dataclass(slots=True, kw_only=True)
class PackCheck:
    """What :func:`check` found: ``problems`` (empty: the pack holds up), each naming its
    member; the manifest's ``head`` and ``subject`` once the signature held."""

    problems: list[str] = field(default_factory=list)
    head: ChainHead | None = None
    subject: dict[str, Any] = field(default_factory=dict)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check(data: bytes, public_key: Any) -> PackCheck:
    """Check a pack offline against ``public_key``; see the module docstring."""
    out = PackCheck()
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        contents = {i.filename: z.read(i) for i in z.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        out.problems.append(f"the pack is not a readable zip ({exc})")
        return out
    for name in (MANIFEST, SIGNATURE):
        if name not in contents:
            out.problems.append(f"{name}: missing from the pack")
    if out.problems:
        return out
    manifest_bytes = contents.pop(MANIFEST)
    if not crypto.signed(public_key, manifest_bytes, contents.pop(SIGNATURE)):
        out.problems.append(_bad_signature(manifest_bytes, public_key))
        return out
    manifest = json.loads(manifest_bytes)
    out.head = ChainHead(seq=manifest["head"]["seq"], hash=manifest["head"]["hash"])
    out.subject, out.files = manifest["subject"], len(manifest["files"])
    out.problems += _members(manifest["files"], contents)
    if out.problems:
        return out
    records = [json.loads(line) for line in contents[CHAIN].splitlines()]
    out.problems += _chain(records, manifest, out.head)
    if out.problems:
        return out
    by_seq = {r["seq"]: r for r in records}
    out.problems += _links(manifest["links"], contents, by_seq)
    out.problems += _notice_heads(contents, by_seq, manifest["chain"])
    return out


def _bad_signature(manifest: bytes, key: Any) -> str:
    ours = crypto.fingerprint(key)
    try:
        named = json.loads(manifest).get("key")
    except ValueError:
        named = None
    if isinstance(named, str) and named != ours:
        return (f"{MANIFEST}: signed by another key (fingerprint {named}; --public-key is "
                f"{ours}), or {MANIFEST} / {SIGNATURE} was changed")  # fmt: skip
    return (f"{MANIFEST} / {SIGNATURE}: the Ed25519 signature does not verify with this key: "
            f"{MANIFEST} or {SIGNATURE} was changed after signing")  # fmt: skip


def _members(listed: Mapping[str, str], contents: Mapping[str, bytes]) -> list[str]:
    problems = []
    for name, digest in sorted(listed.items()):
        if name not in contents:
            problems.append(f"{name}: listed in the manifest but missing from the pack")
        elif hashlib.sha256(contents[name]).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 differs from the manifest's (changed)")
    problems += [f"{name}: in the pack but not in the manifest (added)"
                 for name in sorted(set(contents) - set(listed))]  # fmt: skip
    return problems


def _chain(
    records: list[dict[str, Any]], manifest: Mapping[str, Any], head: ChainHead
) -> list[str]:
    h, seq = manifest["chain"]["prev_hash"], manifest["chain"]["first"] - 1
    for r in records:
        if r["seq"] != seq + 1:
            return [f"{CHAIN}: record {seq + 1} is missing (found {r['seq']})"]
        if link(h, r["body"].encode("utf-8")) != r["hash"]:
            return [f"{CHAIN}: record {r['seq']}: its hash does not match its body and the "
                    "record before it"]  # fmt: skip
        h, seq = r["hash"], r["seq"]
    if (seq, h) != (head.seq, head.hash):
        return [f"{CHAIN}: ends at record {seq}, not at the manifest's head {head.text}"]
    return []


def _links(
    links: Mapping[str, int], contents: Mapping[str, bytes], by_seq: Mapping[int, Any]
) -> list[str]:
    problems = []
    for name, seq in sorted(links.items()):
        record = by_seq.get(seq)
        if record is None:
            problems.append(f"{name}: its chain record {seq} is not in {CHAIN}")
            continue
        body = json.loads(record["body"])
        pinned = body["row"].get(PINNED_BY.get(body["table"], ""))
        if pinned != hashlib.sha256(contents[name]).hexdigest():
            problems.append(f"{name}: its SHA-256 is not the one chain record {seq} holds")
    return problems


def _notice_heads(
    contents: Mapping[str, bytes], by_seq: Mapping[int, Any], chain: Mapping[str, Any]
) -> list[str]:
    problems = []
    for name in sorted(n for n in contents if n.endswith(".eml")):
        msg = email.message_from_bytes(contents[name], policy=email.policy.default)
        value = msg.get(HEAD_HEADER)
        head = parse_head(str(value)) if value is not None else None
        if head is None:
            continue  # rendered without a journal (a test notice)
        if head.seq == chain["first"] - 1:
            known = chain["prev_hash"]
        else:
            known = by_seq[head.seq]["hash"] if head.seq in by_seq else None
        if known != head.hash:
            problems.append(f"{name}: its {HEAD_HEADER} ({head.text}) is not a record of "
                            f"{CHAIN}")  # fmt: skip
    return problems
