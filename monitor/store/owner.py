"""One daemon per journal file: the daemon holds an exclusive lock on ``<journal>.lock`` for
as long as it runs (``flock``, so the kernel drops it when the process dies, however it dies).

Two daemons on one SQLite file would each write the other's running time as an unmonitored gap
and open incidents the other does not see. A second ``slawatch run`` is refused before it
writes anything, and the day-to-day commands, finding the journal held by a daemon that did
not answer on its API, refuse to write behind its back (it would not see the change until
its next start). The file holds the holder's pid, for the messages. PostgreSQL journals are
shared by design (two NOC hosts) and guarded by their lease instead (lease.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from monitor.core.errors import JournalError


def lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


class Owner:
    """The lock a running daemon holds on its journal; :meth:`release` at the end."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the lock goes with the descriptor
            self._fd = None


def take(journal: Path) -> Owner:
    """Hold ``journal`` for this process; JournalError if another process holds it."""
    lock = lock_path(journal)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise JournalError(f"{lock}: cannot open the journal's lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _pid(fd)
        os.close(fd)
        raise JournalError(
            f"{journal}: another slawatch daemon{pid} is running on this journal: stop it "
            "first, or give this configuration a journal of its own (two daemons on one file "
            "write false gaps and incidents into each other's record)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return Owner(fd)


def holder(journal: Path) -> str | None:
    """Whether a daemon holds ``journal`` now: None if not, else words naming it (its pid)."""
    try:
        fd = os.open(lock_path(journal), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: no daemon has run on it (or none of this version)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return f"a slawatch daemon{_pid(fd)}"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _pid(fd: int) -> str:
    """`` (pid N)`` from the lock file, or nothing if it cannot be read."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return f" (pid {int(os.pread(fd, 32, 0).split()[0])})"
    return ""
