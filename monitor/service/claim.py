"""What goes into a claim pack (evidence/pack.py), gathered from the journal through the
same backend the API uses, so the figures are the API's own JSON.

For one incident (or every incident of a circuit in a month): the incident's figures and
timeline, the month's figures for its circuit, the raw probe evidence, every notice as sent
with each recipient's relay answer (reply line, queue id when the relay said one), the
time-stamp tokens, the month's report page (PDF, through ``slawatch report``'s path), and the
chain records from the first one any of these needs to the head, so every linked member can be
tied to a head hash held elsewhere.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from monitor.core.chain import GENESIS, HEAD_HEADER, ChainHead, parse_head
from monitor.core.errors import InputError, JournalError
from monitor.core.report import MonthReport, month_report, month_span
from monitor.core.views import sla_view
from monitor.evidence.pack import Member, Record
from monitor.report import pdf, render
from monitor.service.offline import Offline
from monitor.store.base import Store
from monitor.store.records import ChainRecord, OutboxItem

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUEUE_ID = re.compile(r"queued as ([A-Za-z0-9._-]+)|\bid=([A-Za-z0-9._-]+)|<([^<>@\s]+@[^<>\s]+)>")
"""A relay's queue id in its final reply: Postfix ``queued as X``, Exim ``id=X``, a
Message-ID-like ``<X@host>`` (Sendmail, Exchange). Best effort: the whole reply is kept."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    """A pack's members before signing, and the chain that links them."""

    subject: dict[str, Any]
    members: list[Member]
    head: ChainHead
    records: list[Record]
    prev: str


def queue_id(reply: str) -> str | None:
    m = QUEUE_ID.search(reply)
    return None if m is None else next(g for g in m.groups() if g)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


async def gather(
    offline: Offline,
    *,
    circuit: str,
    month: str,
    incidents: Iterable[int],
    subject: dict[str, Any],
    now: datetime,
    printer: Callable[[str, Path], None] = pdf.print_pdf,
    lang: str = "ja",
) -> Gathered:
    """The members of a pack about ``incidents`` of ``circuit`` in ``month``, figures as of
    ``now``; ``printer`` prints the report page's HTML to a PDF file."""
    b, store = offline.backend, offline.store
    members: list[Member] = []
    needed: list[int] = []  # chain records the pack must hold
    for n in incidents:
        view = await b.incident(n)
        if view is None:
            raise InputError(f"no incident {n} of a configured circuit in the journal", "id")
        members += [Member(name=f"incident-{n}.json", data=_json(view)),
                    Member(name=f"timeline-{n}.json", data=_json(view["timeline"]))]  # fmt: skip
        found = await store.run(lambda s, n=n: _rows(s, n))  # type: ignore[misc]
        members += found[0]
        needed += found[1]
    report = await _month(offline, month, circuit, now)
    members.append(Member(name=f"month-{month}.json", data=_json(sla_view(report))))
    members.append(Member(name="report.pdf", data=_pdf(report, printer, lang)))
    head = await store.run(lambda s: s.head())
    lo = min([*needed, *(m.record for m in members if m.record is not None)], default=head.seq)
    records, prev = await store.run(lambda s: _chain(s, max(lo, 1), head))
    members += await store.run(lambda s: _stamps(s, records))
    members += _answers(members, records)
    members.append(Member(name="README.txt", data=README.encode()))
    return Gathered(subject=subject, members=members, head=head, records=records, prev=prev)


def _rows(s: Store, incident: int) -> tuple[list[Member], list[int]]:
    """Evidence and notices of one incident, each linked to its chain record; plus the
    records the pack needs besides (the incident's versions, the heads notices carry)."""
    out = []
    for e in s.evidence(incident):
        seq = _record_of(s, "probe_evidence", e.id)
        out.append(Member(name=f"evidence/{e.id}-{e.reason}.json.gz", data=e.data, record=seq))
    needed = s.chain_seqs("incidents", [str(incident)])
    for item in s.outbox.notices(incident):
        seq = _record_of(s, "outbox", item.id)
        out.append(Member(name=f"notices/{item.id}.eml", data=item.notice.body, record=seq))
        carried = _carried(item)
        needed += [carried.seq + 1] if carried is not None else []
    return out, needed


def _record_of(s: Store, kind: str, ref: int) -> int:
    """The latest chain record of row ``ref`` of ``kind``; JournalError if it has none."""
    seqs = s.chain_seqs(kind, [str(ref)])
    if not seqs:
        raise JournalError(f"{kind} {ref} has no chain record: the journal was changed behind "
                           "slawatch's back; run slawatch verify")  # fmt: skip
    return seqs[-1]


def _carried(item: OutboxItem) -> ChainHead | None:
    """The head a stored notice carries (None: rendered without one)."""
    value = message_from_bytes(item.notice.body, policy=policy.default).get(HEAD_HEADER)
    return parse_head(str(value)) if value is not None else None


def _chain(s: Store, lo: int, head: ChainHead) -> tuple[list[Record], str]:
    before = s.chain_records(lo - 1, lo - 1) if lo > 1 else []
    prev = before[0].hash if before else GENESIS.hex()
    return [_record(r) for r in s.chain_records(lo, head.seq)], prev


def _record(r: ChainRecord) -> Record:
    return Record(seq=r.seq, kind=r.kind, ref=r.ref, body=r.body, hash=r.hash)


def _stamps(s: Store, records: list[Record]) -> list[Member]:
    """Time-stamp tokens whose own record is in the pack's chain."""
    mine = {int(r.ref): r.seq for r in records if r.kind == "timestamps"}
    return [Member(name=f"timestamps/{t.id}-record-{t.seq}.tsr", data=t.token, record=mine[t.id])
            for t in s.stamps() if t.id in mine]  # fmt: skip


def _answers(members: list[Member], records: list[Record]) -> list[Member]:
    """Each notice's relay answers, from its ``deliveries`` records (each with its number)."""
    by_notice: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.kind != "deliveries":
            continue
        row = json.loads(r.body)["row"]
        at = None if row["at"] is None else (EPOCH + timedelta(microseconds=row["at"])).isoformat()
        by_notice.setdefault(str(row["outbox_id"]), []).append({
            "record": r.seq, "recipient": row["recipient"], "relay": row["relay"],
            "accepted": bool(row["accepted"]), "at": at, "code": row["code"],
            "reply": row["reply"], "queue_id": queue_id(row["reply"]),
            "permanent": bool(row["permanent"]),
        })  # fmt: skip
    out = []
    for m in members:
        if m.name.startswith("notices/") and m.name.endswith(".eml"):
            nid = m.name.removeprefix("notices/").removesuffix(".eml")
            answers = by_notice.get(nid, [])
            out.append(Member(name=f"notices/{nid}.answers.json", data=_json(answers)))
    return out


async def _month(offline: Offline, month: str, circuit: str, now: datetime) -> MonthReport:
    """The month's report of ``circuit``, as ``GET /api/sla`` computes it."""
    sup = offline.backend.sup
    lo, hi = month_span(month, sup.terms(circuit).tz)
    incidents = await offline.store.run(lambda s: s.incidents(circuit, lo, hi))
    withdrawn = await offline.store.run(lambda s: s.withdrawals())
    first = sup.tracker.first_seen(circuit)
    return month_report(month, incidents=incidents, terms=sup.all_terms, now=now,
                        blind=sup.tracker.blind_spans(), gaps=sup.gaps, circuits=[circuit],
                        first_seen={circuit: first} if first else {},
                        withdrawn=withdrawn)  # fmt: skip


def _pdf(report: MonthReport, printer: Callable[[str, Path], None], lang: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="slawatch-pack-") as tmp:
        out = Path(tmp) / "report.pdf"
        printer(render([report], "html", "en" if lang == "en" else "ja"), out)
        return out.read_bytes()


README = """\
slawatch claim pack

Check it with nothing but this file and slawatch's public key (PEM):

    slawatch evidence verify PACK.zip --public-key KEY.pub

or by hand: manifest.sig is the Ed25519 signature of manifest.json's bytes; manifest.json
lists the SHA-256 of every other file; chain.jsonl holds journal records first..head, each
hash = SHA-256(previous hash bytes || body bytes) starting from manifest.json's prev_hash;
each notice's bytes, raw evidence and time-stamp token have their SHA-256 in the chain record
manifest.json's "links" names. Each notice's X-Slawatch-Chain-Head is a record of the chain:
compare it with the copy in your own mailbox.
"""
