"""One daemon per journal file (store/owner.py): the lock is the file's, whatever path names
it, and a command's write holds it so that a daemon starting meanwhile waits for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from monitor.core.errors import JournalError
from monitor.store import open_store
from monitor.store.owner import Held, writing


def test_a_second_daemon_through_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    """The lock was taken on ``<path as given>.lock``: two paths to one journal locked two
    files, and both daemons ran on it (a review found it)."""
    (tmp_path / "var").mkdir()
    (tmp_path / "etc").mkdir()
    real, link = tmp_path / "var" / "slawatch.db", tmp_path / "etc" / "journal.db"
    first = open_store(real, own=True)
    try:
        link.symlink_to(real)
        with pytest.raises(JournalError, match="another slawatch daemon"):
            open_store(link, own=True).close()
    finally:
        first.close()


def test_a_command_s_write_is_refused_while_a_daemon_holds_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    daemon = open_store(journal, own=True)
    try:
        with pytest.raises(Held, match=r"a slawatch daemon \(pid \d+\)"), writing(journal):
            pass
    finally:
        daemon.close()
    with writing(journal):  # none runs now: the write may go ahead
        pass


def test_a_daemon_starting_during_a_command_s_write_waits_for_it(tmp_path: Path) -> None:
    """A check-then-write left a window: a daemon starting between the two read the journal
    before the change landed, and did not see it until its next start."""
    journal = tmp_path / "journal.db"
    open_store(journal, own=True).close()  # a daemon ran once: the lock file exists
    held = threading.Event()

    def write() -> None:
        with writing(journal):
            held.set()
            time.sleep(0.3)  # the write itself, taking its time

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert held.wait(10)
        t0 = time.monotonic()
        daemon = open_store(journal, own=True)  # waits for the write, then holds the file
        daemon.close()
        assert time.monotonic() - t0 >= 0.1
    finally:
        writer.join()
