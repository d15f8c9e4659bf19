"""End to end: an outage that opens and closes while the journal's disk is full (issue 10,
fault 2). The customer still gets both notices, within seconds, and once there is room again
the journal records the incident and the notice's acceptance, so the report shows no missed
notice. Before the fix the outbox stayed empty: no notice at all, and later a 1/30 credit for
a notice "not sent" although the relay worked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import open_store
from tests import support
from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.topology import Topology

pytestmark = pytest.mark.netns


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs for the journal: a disk that really fills up."""
    with support.small_disk(tmp_path / "disk", "1m") as mnt:
        yield mnt


def notices(maildir: Path, kind: bytes) -> list[Path]:
    new = maildir / "new"
    if not new.is_dir():
        return []
    return [f for f in new.iterdir() if b"X-Slawatch-Kind: " + kind in f.read_bytes()]


def test_an_outage_while_the_journal_is_full_is_still_told_and_later_recorded(
    topology: Topology, tmp_path: Path, small_disk: Path
) -> None:
    d = Daemon.launch(topology, tmp_path, extra={"journal": str(small_disk / "journal.db")})
    filler = small_disk / "filler"
    try:
        d.wait_for(lambda: all_up(d), 10, "all paths up")
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        topology.cut_all()
        maildir = tmp_path / "maildir"
        d.wait_for(lambda: notices(maildir, b"opened"), 30, "the opened notice")
        topology.restore_all()
        d.wait_for(lambda: notices(maildir, b"recovered"), 30, "the recovered notice")
        filler.unlink()  # room again: what waited is written, in order
        d.wait_for(
            lambda: (i := d.incidents()) and i[0]["end"] and i[0]["notified"], 60, "the record"
        )
        [incident] = d.incidents()
        assert incident["notify_breach"] is False
        assert d.stop() == 0
    finally:
        d.ensure_stopped()
        topology.restore_all()
    assert len(notices(tmp_path / "maildir", b"opened")) == 1  # told once, not again
    store = open_store(small_disk / "journal.db")
    try:
        [stored] = store.incidents()
        assert stored.notified is not None and stored.end is not None
    finally:
        store.close()
