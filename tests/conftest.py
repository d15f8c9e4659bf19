"""Shared fixtures: network namespace topologies (root only; skipped with the reason)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import skip_or_fail
from tests.topology import Topology, available


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    reason = available()
    if reason:
        skip_or_fail(reason)
    topo = Topology.build(f"sw{os.getpid()}")
    try:
        yield topo
    finally:
        topo.teardown()
