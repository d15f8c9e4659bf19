"""The journal writer at a stop: what is lost is reported once, by the stop, and never by
the event loop as "Future exception was never retrieved" (printed once per lost write at the
end of bench/mass_outage_bench.py, whose stop gave up draining a busy writer)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from monitor.core.errors import JournalError
from monitor.service import daemon as daemon_mod
from monitor.service import writer as writer_mod
from monitor.service.writer import Writer
from monitor.store import open_store
from tests import support
from tests.service.harness import Harness
from tests.service.test_reliability import fill

T = TypeVar("T")


class Journal:
    """A store whose writes wait until ``open`` is set; after the write named ``slow`` it
    takes the next only 0.2 s later (a busy disk)."""

    def __init__(self, slow: str = "") -> None:
        self.written: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.slow = slow

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        yield

    def write(self, name: str) -> str:
        self.written.append(name)
        if name == self.slow:
            self.open.clear()
            asyncio.get_running_loop().call_later(0.2, self.open.set)
        return name

    async def run(self, call: Callable[[Any], T]) -> T:
        await self.open.wait()
        return call(self)


@contextlib.contextmanager
def unretrieved() -> Iterator[list[dict[str, Any]]]:
    """What the running loop reports as a future's exception never retrieved (``gc`` run at
    the end, so every dropped future has been finalised)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: seen.append(context))
    try:
        yield seen
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    seen[:] = [c for c in seen if "never retrieved" in c.get("message", "")]


async def test_writes_failed_at_a_stop_are_not_reported_by_the_loop() -> None:
    journal = Journal()
    writer: Writer[Any] = Writer(journal)  # not running: a stop's writer, cancelled
    with unretrieved() as seen:
        for n in range(3):
            writer.write(lambda s, n=n: s.write(f"fact {n}"))  # written and forgotten
        awaited = writer.write(lambda s: s.write("awaited"))
        lost = writer.cancel_all()
        with pytest.raises(JournalError, match="stopped before this was written"):
            await awaited  # whoever waits still hears it
        del awaited
    assert seen == [], [c["message"] for c in seen]
    assert lost == 4 and writer.cancel_all() == 0 and journal.written == []


async def test_drained_waits_for_a_write_queued_as_the_queue_emptied() -> None:
    """A loop woken by the same emptying (the heartbeat, the timer) queues a write before
    the stop's waiter resumes: drained() returned with it queued, and the stop failed it."""
    journal = Journal(slow="first")
    journal.open.clear()  # "first" waits until both wait for the queue to empty
    writer: Writer[Any] = Writer(journal)
    runner = asyncio.create_task(writer.run())
    try:
        writer.write(lambda s: s.write("first"))

        async def sneak() -> None:
            await writer.drained()
            writer.write(lambda s: s.write("late"))

        sneaking = asyncio.create_task(sneak())
        await asyncio.sleep(0)  # it waits first, so it wakes first
        drained = asyncio.create_task(writer.drained())
        await asyncio.sleep(0)
        journal.open.set()
        async with asyncio.timeout(5):
            await drained
            assert journal.written == ["first", "late"]
        await sneaking
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs (root only): a disk that really fills up."""
    with support.small_disk(tmp_path / "mnt", "512k") as mnt:
        yield mnt


async def test_a_stop_on_a_full_journal_reports_the_lost_writes_once(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(small_disk)
    d = await h.start()
    with unretrieved() as seen:
        try:
            await h.until(lambda: d.sup.last_probe)
            fill(small_disk)
            h.prober.ok = False  # path changes, an incident: facts the journal refuses
            await h.until(lambda: d.writer.failing_since is not None, timeout=30)
        finally:
            with caplog.at_level(logging.ERROR, logger="slawatch"):
                await h.stop()  # gives up draining after DRAIN_S
    assert seen == [], [c["message"] for c in seen]
    lost = [r.getMessage() for r in caplog.records if "they are lost" in r.getMessage()]
    assert len(lost) == 1, lost
    assert re.fullmatch(r"stopping with \d+ journal write\(s\) refused by the journal: they "
                        r"are lost", lost[0]), lost  # fmt: skip


class SlowDisk:
    """The daemon's store behind a disk that holds every write while ``held`` is set, then
    takes ``each_s`` more for each (a slow fsync): the writes get through, slowly."""

    def __init__(self, store: Any, each_s: float) -> None:
        self.store, self.each_s = store, each_s
        self.free = asyncio.Event()
        self.free.set()

    def hold(self) -> None:
        self.free.clear()

    def release(self) -> None:
        self.free.set()

    async def run(self, call: Callable[[Any], T]) -> T:
        await self.free.wait()

        def slowly(s: Any) -> T:
            time.sleep(self.each_s)
            return call(s)

        return cast(T, await self.store.run(slowly))


async def test_a_stop_waits_for_writes_that_get_through_however_long_they_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop during a mass outage (bench/mass_outage_bench.py: 2,076 writes queued, lost
    after a fixed 10 s) writes every queued incident, path change and notice: it gives up
    only once none gets through for DRAIN_S. Here the queue needs several times DRAIN_S; each
    write that gets through asks systemd for 2 x DRAIN_S more (past TimeoutStopSec)."""
    monkeypatch.setattr(daemon_mod, "DRAIN_S", 1.0)
    # closed however the test ends: a socket left open fails the next test of the worker
    # (an unraisable ResourceWarning)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(tmp_path / "notify"))
        systemd.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        monkeypatch.setattr(writer_mod, "MAX_BATCH", 1)  # one write a (slow) commit
        h = Harness(tmp_path)
        d = await h.start()
        disk = SlowDisk(d.writer._store, each_s=0.5)
        d.writer._store = disk
        try:
            await h.until(lambda: d.sup.last_probe)
            disk.hold()
            h.prober.ok = False
            incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
            h.prober.ok = True
            await h.until(lambda: d.sup.tracker.open_incident("c1") is None)
            # 2.5 s of writes at least: 5 of them (at 10 of 0.25 s each, the count was not
            # always reached: how many writes a close makes depends on how results batch)
            await h.until(lambda: len(d.writer._jobs) >= 5, timeout=30)
            queued = len(d.writer._jobs)
        finally:
            disk.release()
            with caplog.at_level(logging.ERROR, logger="slawatch"):
                await h.stop()
        assert not [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
        journal = open_store(h.settings.journal)
        try:
            [stored] = journal.incidents()
            assert stored.id == incident.id and stored.end is not None, (stored, queued)
            kinds = sorted(n.notice.kind for n in journal.outbox.notices(incident.id))
            assert kinds == ["opened", "recovered"], (kinds, queued)
            changes = journal.db.query("SELECT state FROM path_changes ORDER BY id")
            assert [s for (s,) in changes].count("down") == 4, (changes, queued)
        finally:
            journal.close()
        told: list[bytes] = []
        with contextlib.suppress(BlockingIOError):
            while True:
                told.append(systemd.recv(256))
    assert told and set(told) == {b"EXTEND_TIMEOUT_USEC=2000000"}, told
