"""Faults found by attacking a running daemon (issue 10), each replayed against the real shell:
a reload mid-outage, a journal that cannot be written, a restart, an exclusion of a circuit
no longer configured. The journal, the outbox, the mailer and the relay are real; the clock
and the prober are scripted (tests/service/harness.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from monitor import config
from monitor.core.chain import HEAD_HEADER, parse_head
from monitor.core.errors import InputError
from monitor.core.events import Incident, IncidentClosed
from monitor.core.supervisor import REMOVED
from monitor.store import open_store
from monitor.store.records import OutboxState
from tests import support
from tests.notify.smtp_server import SmtpServer
from tests.service.harness import T0, Clock, Harness

MIN = timedelta(minutes=1)


def moved(settings: config.Settings, **circuit: object) -> config.Settings:
    """The same configuration with the first circuit's keys replaced."""
    data = settings.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["circuits"][0].update(circuit)
    return config.parse(data, "reloaded")


async def stopped_mid_outage(tmp_path: Path) -> tuple[Harness, Incident]:
    """A daemon that opened an incident on c1 and was then stopped: the journal holds it open."""
    h = Harness(tmp_path)
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
    finally:
        await h.stop()
    return h, incident


async def test_changing_an_address_mid_outage_keeps_the_incident(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        paths = [p.model_dump() for p in h.settings.circuits[0].paths]
        paths[0]["address"] = "127.0.0.99"
        d.reload(moved(h.settings, paths=paths).plan())
        assert d.sup.tracker.open_incident("c1") == incident  # same id, same start
        h.travel(MIN)
        h.prober.ok = True
        stored = await h.until(lambda: (i := d.store.sync.incident(incident.id)) and i.end and i)
        assert stored.end > incident.start and stored.start == incident.start
        assert [i.id for i in d.store.sync.incidents()] == [incident.id]  # no second incident
    finally:
        await h.stop()


async def test_removing_a_circuit_mid_outage_closes_its_incident_and_says_so(
    tmp_path: Path,
) -> None:
    with SmtpServer() as relay:
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
            await h.until(lambda: relay.received)  # the opened notice
            h.travel(8 * MIN)
            other = moved(h.settings, id="c2")  # c1 gone, c2 in its place
            d.reload(other.plan())
            # c2's paths answer: only c1's removal is under test (c2 failing three probes
            # opened an incident of its own when the checks below took longer than 0.15 s)
            h.prober.ok = True
            stored = await h.until(lambda: (i := d.store.sync.incident(incident.id)).end and i)
            assert stored.end == h.clock() and stored.closed_reason == REMOVED
            await h.until(
                lambda: any(b"X-Slawatch-Kind: recovered" in r.content for r in relay.received)
            )
        finally:
            await h.stop()
    # after a restart, the journal agrees: nothing open, no phantom growing for ever
    again = Harness(tmp_path, relay_ports=[relay.port], clock=Clock(T0 + 20 * 24 * 60 * MIN))
    again.settings = other
    d2 = await again.start()
    try:
        [i] = d2.store.sync.incidents()
        assert i.end == stored.end and i.closed_reason == REMOVED
        figures = await again.backend.incidents(None, None, None)
        assert figures == []  # c1 is not configured: not shown, not credited as open
    finally:
        await again.stop()


async def test_a_start_closes_what_the_journal_held_open_for_a_removed_circuit(
    tmp_path: Path,
) -> None:
    h, incident = await stopped_mid_outage(tmp_path)
    later = Clock(T0 + 30 * MIN)
    again = Harness(tmp_path, clock=later)
    again.settings = moved(h.settings, id="c2")
    d2 = await again.start()
    try:
        stored = await again.until(lambda: (i := d2.store.sync.incident(incident.id)).end and i)
        assert stored.end == later() and stored.closed_reason == REMOVED
    finally:
        await again.stop()


async def test_path_gauges_are_back_right_after_a_restart(tmp_path: Path) -> None:
    await stopped_mid_outage(tmp_path)
    again = Harness(tmp_path)
    again.prober.ok = False
    await again.start()
    try:  # before any new probe result could change a path
        labels = {"circuit": "c1", "router": "active", "demarc": "primary"}
        assert again.sample("slawatch_path_up", **labels) == 0
        assert again.sample("slawatch_circuit_available", circuit="c1") == 0
    finally:
        await again.stop()


async def test_an_exclusion_of_an_unconfigured_circuit_is_refused_and_not_written(
    tmp_path: Path,
) -> None:
    h, incident = await stopped_mid_outage(tmp_path)
    again = Harness(tmp_path)
    again.settings = moved(h.settings, id="c2")
    await again.start()
    try:
        with pytest.raises(InputError, match="unknown circuit 'c1'"):
            await again.backend.exclude(incident.id, "customer power")
        assert again.daemon is not None
        assert again.daemon.store.sync.incident(incident.id).excluded is None  # type: ignore[union-attr]
    finally:
        await again.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs (root only): a disk that really fills up."""
    with support.small_disk(tmp_path / "mnt", "512k") as mnt:
        yield mnt


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()
    return filler


async def test_an_outage_while_the_journal_is_full_still_gets_its_notices(
    small_disk: Path,
) -> None:
    """The disk fills, then an outage opens and closes: the notices go out from memory within
    seconds, and once there is room the journal gets the incident, both notices, the relay's
    answers and the notification time, so no breach is recorded for a notice that was sent."""
    with SmtpServer() as relay:
        h = Harness(small_disk, relay_ports=[relay.port])
        d = await h.start()
        try:
            await h.until(lambda: d.sup.last_probe)
            filler = fill(small_disk)
            h.prober.ok = False
            incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
            await h.until(lambda: d.writer.failing_since is not None)
            h.travel(10 * MIN)
            h.prober.ok = True
            await h.until(lambda: d.sup.tracker.open_incident("c1") is None)
            kinds = await h.until(
                lambda: {k for r in relay.received for k in (b"opened", b"recovered")
                         if b"X-Slawatch-Kind: " + k in r.content} == {b"opened", b"recovered"},
                timeout=30,
            )  # fmt: skip
            assert kinds
            assert d.store.sync.incidents() == [] or d.writer.failing_since is not None
            filler.unlink()  # room again: what waited is written, in order
            await h.until(lambda: d.writer.failing_since is None, timeout=60)
            # the close and then the notification time (the relay's answer came after the
            # close): wait for the later of the two writes, not the first
            await h.until(
                lambda: (i := d.store.sync.incident(incident.id)) and i.end and i.notified,
                timeout=60,
            )
            stored = d.store.sync.incident(incident.id)
            assert stored is not None and stored.notified is not None
            assert stored.notified <= stored.detected + 30 * MIN
            notices = await h.until(
                lambda: [n for n in d.store.sync.outbox.notices(incident.id)
                         if n.state is OutboxState.DONE],
                timeout=30,
            )  # fmt: skip
            assert {n.notice.kind for n in notices} >= {"opened", "recovered"}
            [figures] = (await h.backend.sla("2026-10"))["incidents"]
            assert figures["notify_breach"] is False
        finally:
            await h.stop()
    sent = [r for r in relay.received if b"X-Slawatch-Kind: opened" in r.content]
    assert len(sent) == 1  # sent from memory once, not again once stored
    reopened = open_store(h.settings.journal)
    try:
        assert reopened.incident(incident.id).notified is not None  # type: ignore[union-attr]
        assert reopened.verify().ok
        for r in relay.received:
            # sent from memory: it carries the last head this process saw committed before
            # it was rendered (a record the journal holds, never one of a batch that failed
            # to commit); its own record came later, when the journal took it with its
            # answers, so unlike a notice stored first it is not the record right after
            msg = message_from_bytes(r.content, policy=policy.default)
            head = parse_head(str(msg[HEAD_HEADER]))
            assert head is not None and head.seq > 0
            [record] = reopened.chain_records(head.seq, head.seq)
            assert record.hash == head.hash, (msg["X-Slawatch-Kind"], head.seq)
            [item] = [
                n for n in reopened.outbox.notices() if n.notice.message_id == msg["Message-ID"]
            ]
            [own] = reopened.chain_seqs("outbox", [str(item.id)])
            assert own > head.seq + 1
    finally:
        reopened.close()


async def test_a_close_whose_notices_never_reached_the_outbox_is_told_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The close was recorded, then the process died before its RECOVERED was stored (or it
    was held while blind): the next start finds the journal's close without the notice and
    sends it, once, through the real outbox and Maildir."""
    h = Harness(tmp_path)
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        await h.until(  # the OPENED, delivered and its delivery written down
            lambda: [n for n in d.store.sync.outbox.notices(incident.id)
                     if n.state is OutboxState.DONE]
        )  # fmt: skip
    finally:
        await h.stop()
    store = open_store(h.settings.journal)
    try:  # the close as the dying process wrote it: recorded, nothing after it
        store.record([IncidentClosed(incident=replace(incident, end=incident.start + MIN))])
    finally:
        store.close()

    async def start_again() -> None:
        again = Harness(tmp_path, clock=Clock(T0 + 10 * MIN))
        d2 = await again.start()
        try:
            notices = await again.until(
                lambda: [n for n in d2.store.sync.outbox.notices(incident.id)
                         if n.notice.kind == "recovered" and n.state is OutboxState.DONE]
            )  # fmt: skip
            assert [n.notice.group for n in notices] == ["primary"]
            await d2.writer.drained()
            assert (await again.ask(lambda s: s.verify())).ok
        finally:
            await again.stop()

    await start_again()
    await start_again()  # finds it stored: nothing again
    kinds = [
        message_from_bytes(f.read_bytes(), policy=policy.default)["X-Slawatch-Kind"]
        for f in sorted((tmp_path / "maildir" / "new").iterdir())
    ]
    assert kinds.count("recovered") == 1 and kinds.count("opened") == 1


async def test_a_stop_lets_a_delivery_under_way_finish_and_writes_it_down(
    tmp_path: Path,
) -> None:
    """SIGTERM (an upgrade, a reboot) while the relay takes its time over the data of the
    opened notice: the stop waits for the relay's answer and writes it down, so the next
    start has nothing in flight to send again (a second copy in the customer's mailbox)."""
    with SmtpServer() as relay:
        relay.script.stall_data_s = 0.3  # under the relay's 0.5 s timeout in the harness
        h = Harness(tmp_path, relay_ports=[relay.port])
        d = await h.start()
        try:
            h.prober.ok = False
            incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
            await h.until(lambda: relay.handler.data_commands)  # the data is being sent
        finally:
            await h.stop()
        store = open_store(h.settings.journal)
        try:
            [item] = store.outbox.notices(incident.id)
            assert item.state is OutboxState.DONE and len(relay.received) == 1
            assert store.outbox.in_flight() == []  # nothing for the next start to send again
        finally:
            store.close()
