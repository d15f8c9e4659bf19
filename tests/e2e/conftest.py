"""The end-to-end fixtures: a real daemon in the topology's NOC namespace (tests/conftest.py
builds the topology)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.snmp_daemon import launch, stop
from tests.snmp_agents import Agents
from tests.topology import Topology


@pytest.fixture
def daemon(topology: Topology, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon.launch(topology, tmp_path)
    try:
        yield d
    finally:
        d.ensure_stopped()
        topology.restore_all()


@pytest.fixture
def snmp_daemon(topology: Topology, tmp_path: Path) -> Iterator[tuple[Daemon, Agents]]:
    """The daemon with SNMP on, and snmpd in both routers (snmp_daemon.py)."""
    d, agents = launch(topology, tmp_path)
    try:
        yield d, agents
    finally:
        stop(d, agents, topology)
