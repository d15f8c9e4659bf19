"""Evidence through the real shell: the head a delivered notice carries (a real aiosmtpd
relay) is the journal's head when its outbox row was written, and probe evidence around an
incident reaches the journal, chained."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from monitor.core.chain import HEAD_HEADER, parse_head
from monitor.store import open_store
from tests.notify.smtp_server import SmtpServer, free_port
from tests.service.harness import T0, Harness

MIN = timedelta(minutes=1)


async def test_a_delivered_notice_carries_the_journal_head_of_its_moment(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            await h.until(lambda: d.sup.tracker.open_incident("c1"))
            got = await h.until(  # the customer's opened notice (whatever else arrives)
                lambda: next((m for m in relay.received
                              if b"X-Slawatch-Kind: opened" in m.content), None)
            )  # fmt: skip
            msg = got.message()
            head = parse_head(str(msg[HEAD_HEADER]))
            assert head is not None and head.seq > 0
            mid = str(msg["Message-ID"]).strip()
            [item] = [i for i in await h.ask(lambda s: s.outbox.notices())
                      if i.notice.message_id == mid]  # fmt: skip
            own, = await h.ask(lambda s: s.chain_seqs("outbox", [str(item.id)]))  # fmt: skip
            # the head it carries is exactly the record before the notice's own record
            assert own == head.seq + 1
            [at_head] = await h.ask(lambda s: s.chain_records(head.seq, head.seq))
            assert at_head.hash == head.hash
            [mine] = await h.ask(lambda s: s.chain_records(own, own))
            stored = item.notice.body
            assert json.loads(mine.body)["row"]["body_sha256"] == hashlib.sha256(stored).hexdigest()
            # the copy in the customer's mailbox says the same in its footer
            text = msg.get_body(preferencelist=("plain",))
            assert text is not None and f"{head.seq} sha256:{head.hash}" in text.get_content()
            h.metrics.chain_head(lambda: d.store.sync.known_head.seq)
            await d.writer.drained()
            latest = await h.ask(lambda s: s.head())
            assert h.sample("slawatch_journal_chain_head_record") == latest.seq
            assert (await h.ask(lambda s: s.verify())).ok
        finally:
            await h.stop()


async def test_a_notice_left_in_flight_is_sent_again_as_the_journal_holds_it(
    tmp_path: Path,
) -> None:
    """A notice stored, claimed and left in flight (a crash mid-send; with two NOC hosts, a
    leader killed mid-send) is sent again at the next start (by the new leader) while the
    ledger, rebuilt from the journal, offers the same notice once more. What goes out is the
    row the journal holds: the head it carries is the record before its own, and its bytes are
    the ones its record pins (before the fix: the new rendering, with a later head)."""
    h = Harness(tmp_path, relay_ports=[free_port()])  # no relay answers: stored, not accepted
    d = await h.start()
    try:
        h.prober.ok = False
        await h.until(lambda: [i for i in d.store.sync.outbox.notices() if i.attempts])
    finally:
        await h.stop()
    store = open_store(h.settings.journal)  # the crash: it was being sent
    try:
        store.outbox.claim_due(T0 + 60 * MIN, 10)  # in flight, if it was not at the stop
        [left] = [i for i in store.outbox.in_flight() if i.notice.kind == "opened"]
    finally:
        store.close()
    stored = parse_head(
        str(message_from_bytes(left.notice.body, policy=policy.default)[HEAD_HEADER])
    )
    with SmtpServer() as relay:
        h2 = Harness(tmp_path, relay_ports=[relay.port])
        h2.prober.ok = False
        d2 = await h2.start()
        try:
            [got] = await h2.until(
                lambda: [r for r in relay.received if r.message_id == left.notice.message_id]
            )
            await d2.writer.drained()
            own = await h2.ask(lambda s: s.chain_seqs("outbox", [str(left.id)]))
            assert (await h2.ask(lambda s: s.verify())).ok
        finally:
            await h2.stop()
    carried = parse_head(str(got.message()[HEAD_HEADER]))
    assert stored is not None and carried == stored
    assert own == [carried.seq + 1]  # the record right before the notice's own


async def test_raw_results_around_an_opening_are_journalled(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    try:
        await h.until(lambda: d.sup.tracker.path_state(d.plan.circuits[0].paths[0].key)[1])
        h.clock.advance(timedelta(seconds=30))
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        assert await h.ask(lambda s: s.evidence(incident.id)) == []  # not before detection + 5 min
        h.travel(5 * MIN + timedelta(seconds=1))
        [e] = await h.until(lambda: d.store.sync.evidence(incident.id))
        assert e.reason == "opened" and e.start == incident.start - 10 * MIN
        assert e.end == incident.detected + 5 * MIN
        doc = json.loads(gzip.decompress(e.data))
        primary = doc["results"]["active/primary"]["rtt_ms"]
        assert 0.001 * 1000 in primary and None in primary  # answered, then not
        assert set(doc["results"]) == {
            "active/primary", "active/secondary", "standby/primary", "standby/secondary"
        }  # fmt: skip
        assert (await h.ask(lambda s: s.verify())).ok
    finally:
        await h.stop()
