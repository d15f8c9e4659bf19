"""Shared fixtures: network namespace topologies (root only; skipped with the reason); the
order in which pytest-xdist's workers are handed the modules."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import skip_or_fail
from tests.topology import Topology, available

LONGEST = ("tests/e2e/test_two_nodes.py", "tests/test_ops_cli.py")
"""The two longest modules (two NOC hosts' daemons; a daemon and the CLI's subprocesses):
handed out first, or one of them is the tail of a parallel run."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker (``-n 3 --dist loadfile --no-loadscope-reorder``, see
    pyproject.toml), order the collection so the long modules go out first: LONGEST, then the
    namespace tests (long, mostly waiting), then the rest, short ones filling in at the end.
    Every worker sorts alike, so they agree; a module stays on one worker (loadfile), so its
    topology, agents and clusters are built once. A serial run (``-n 0``) keeps the usual
    order. (Not ``--dist loadgroup``: with pytest 9.2 it ignores ``xdist_group`` marks without
    a word, pytest-xdist issue 1386.)"""
    if hasattr(config, "workerinput"):
        items.sort(key=_rank)


def _rank(item: pytest.Item) -> int:
    module = item.nodeid.split("::")[0]
    return 0 if module in LONGEST else 1 if item.get_closest_marker("netns") else 2


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
