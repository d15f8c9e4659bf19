"""One daemon per journal file: the daemon holds an exclusive lock on ``<journal>.lock`` for
as long as it runs (``flock``, so the kernel drops it when the process dies, however it dies).

Two daemons on one SQLite file would each write the other's running time as an unmonitored gap
and open incidents the other does not see. A second ``slawatch run`` is refused before it
writes anything, and the day-to-day commands, finding the journal held by a daemon that did
not answer on its API, refuse to write behind its back (it would not see the change until
its next start): they hold the file shared while they write, so a daemon starting meanwhile
waits (up to 5 s) rather than read the journal before the change lands. The file holds the
last daemon's pid, for the messages; it is group-writable, and a daemon that may only read
it (left by another user of the group) still locks it. Symbolic links are followed: two paths
to one journal are one lock. PostgreSQL journals are shared by design (two NOC hosts) and
guarded by their lease instead (lease.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.core.errors import JournalError

TAKE_WAIT_S = 5.0
"""How long a starting daemon waits for the lock while a command holds it for a write."""


def lock_path(journal: Path) -> Path:
    """``<journal>.lock`` beside the file itself (symbolic links followed: two paths to one
    journal are one lock)."""
    real = journal.resolve()
    return real.with_name(real.name + ".lock")


def _open(lock: Path) -> tuple[int, bool]:
    """The lock file, read-write (created, group-writable) if it may be, else read-only (a
    file another user of the group left: ``flock`` needs no write access); (fd, writable)."""
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660), True
    except PermissionError:
        return os.open(lock, os.O_RDONLY | os.O_CLOEXEC), False


class Held(JournalError):
    """The journal is held by a running daemon; the message names it (its pid)."""


class Owner:
    """The lock a running daemon holds on its journal; :meth:`release` at the end."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the lock goes with the descriptor
            self._fd = None


def take(journal: Path, wait_s: float = TAKE_WAIT_S) -> Owner:
    """Hold ``journal`` for this process; JournalError if another daemon holds it (a command
    writing a change holds it shared for a moment: waited for up to ``wait_s``)."""
    lock = lock_path(journal)
    try:
        fd, writable = _open(lock)
    except OSError as exc:
        raise JournalError(f"{lock}: cannot open the journal's lock file: {exc.strerror}") from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:  # perhaps a command's write, over in a moment
                time.sleep(0.05)
                continue
            pid = _pid(fd)
            os.close(fd)
            raise JournalError(
                f"{journal}: another slawatch daemon{pid} is running on this journal: stop "
                "it first, or give this configuration a journal of its own (two daemons on "
                "one file write false gaps and incidents into each other's record)"
            ) from None
    if writable:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return Owner(fd)


@contextlib.contextmanager
def writing(journal: Path) -> Iterator[None]:
    """Hold ``journal`` shared while a command writes a change into it: JournalError naming
    the daemon if one runs on it (it would not see the change until its next start); a
    daemon starting meanwhile waits for the write (:func:`take`)."""
    try:
        fd = os.open(lock_path(journal), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield  # no daemon has run on it (none of this version)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Held(f"a slawatch daemon{_pid(fd)}") from None
        yield
    finally:
        os.close(fd)


def holder(journal: Path) -> str | None:
    """``a slawatch daemon (pid N)`` while one runs on ``journal``, else None: the lock
    taken shared and dropped at once (a command's own shared hold does not count)."""
    try:
        fd = os.open(lock_path(journal), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # no daemon has run on it (none of this version)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return f"a slawatch daemon{_pid(fd)}"
    finally:
        os.close(fd)  # a shared lock taken goes with it
    return None


def _pid(fd: int) -> str:
    """`` (pid N)`` from the lock file, or nothing if it cannot be read."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return f" (pid {int(os.pread(fd, 32, 0).split()[0])})"
    return ""
