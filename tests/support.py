"""Helpers shared by tests that need something from the machine (root, a Debian tool, a port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where `make test` installs everything."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run in CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str, package: str | None = None) -> str:
    """The path of ``name``, or skip/fail naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"{name} not installed (Debian package {package or name})")
        raise AssertionError("unreachable")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def small_disk(mnt: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``1m``, ``512k``) mounted at ``mnt`` (root only): a disk that
    really fills up. Unmounted at the end."""
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        skip_or_fail(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
