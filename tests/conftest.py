"""Shared fixtures: network namespace topologies (root only; skipped with the reason)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.topology import Topology, available


def _skip_or_fail(reason: str) -> None:
    # In CI the namespace tests are part of the contract: missing privileges fail loudly.
    if os.environ.get("CI") == "true":
        pytest.fail(f"network namespace tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    reason = available()
    if reason:
        _skip_or_fail(reason)
    topo = Topology.build(f"sw{os.getpid() % 100000}")
    try:
        yield topo
    finally:
        topo.teardown()
