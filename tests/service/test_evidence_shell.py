"""Evidence through the real shell: the head a delivered notice carries (a real aiosmtpd
relay) is the journal's head when its outbox row was written, and probe evidence around an
incident reaches the journal, chained."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import timedelta
from pathlib import Path

from monitor.core.chain import HEAD_HEADER, parse_head
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import Harness

MIN = timedelta(minutes=1)


async def test_a_delivered_notice_carries_the_journal_head_of_its_moment(tmp_path: Path) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            await h.until(lambda: d.sup.tracker.open_incident("c1"))
            [got] = await h.until(lambda: relay.received)
            msg = got.message()
            head = parse_head(str(msg[HEAD_HEADER]))
            assert head is not None and head.seq > 0
            [item] = await h.ask(lambda s: s.outbox.notices())
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
