"""Helpers shared by tests that need something from the machine (root, a Debian tool)."""

from __future__ import annotations

import os
import shutil

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
