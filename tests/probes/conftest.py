"""Fixtures of the probe tests: a topology of their own (no link into the root namespace, so
it cannot collide with another session's) and an engine running inside its NOC."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.probes.nsengine import EngineProcess
from tests.support import skip_or_fail
from tests.topology import Topology, available


@pytest.fixture(scope="module")
def icmp_topology() -> Iterator[Topology]:
    reason = available()
    if reason:
        skip_or_fail(reason)
    topo = Topology.build(f"swi{os.getpid()}", mgmt=False)
    try:
        yield topo
    finally:
        topo.teardown()


@pytest.fixture
def noc_engine(icmp_topology: Topology) -> Iterator[EngineProcess]:
    """A fresh engine in the NOC namespace, every path restored first and after."""
    icmp_topology.restore_all()
    engine = EngineProcess(icmp_topology)
    try:
        assert engine.hello == {"mode": "raw"}, engine.hello
        yield engine
    finally:
        engine.close()
        icmp_topology.restore_all()
