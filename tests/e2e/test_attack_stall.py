"""Attack: the daemon's event loop stalled (SIGSTOP .. SIGCONT) while a circuit is down, or
cut during the stall. The probes owed during the stall go out late, so the outage's end (or
start) is recorded late: the stall must be recorded as an unmonitored gap and reported beside
the outage (docs/contract.md, "Unmonitored gaps"), journalled (it survives a restart) and
counted in the metrics."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.daemon import INTERVAL, Daemon
from tests.e2e.test_daemon import all_up
from tests.topology import Topology

pytestmark = pytest.mark.netns

STALL_S = 12.0
BEAT_S = 0.25  # monitor/service/stall.py: a gap may begin up to a beat before the stop
SLACK_S = 0.5


def _closed(d: Daemon) -> list[dict[str, Any]]:
    return [i for i in d.incidents() if i["end"]]


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _stall(pid: int, at: float, stimulus: Any) -> tuple[float, float]:
    """SIGSTOP the daemon for STALL_S, running ``stimulus`` ``at`` seconds into the stall;
    (stopped, resumed) as Unix times."""
    os.kill(pid, signal.SIGSTOP)
    stopped = time.time()
    try:
        time.sleep(at)
        stimulus()
        time.sleep(STALL_S - at)
    finally:
        os.kill(pid, signal.SIGCONT)
    return stopped, time.time()


def _the_stall_gap(gaps: list[dict[str, str]], stopped: float, resumed: float) -> dict[str, str]:
    """The one gap that is the stall: from the last beat before the stop to the resumption."""
    spans = [(_ts(g["start"]), _ts(g["end"])) for g in gaps]
    assert len(gaps) == 1, f"expected the stall as one gap, got {spans}"
    start, end = spans[0]
    assert stopped - BEAT_S - SLACK_S <= start <= stopped, (start - stopped, spans)
    assert resumed - SLACK_S <= end <= resumed + SLACK_S, (end - resumed, spans)
    return gaps[0]


def _metric(d: Daemon, name: str) -> float:
    for line in d.text("/metrics").splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def test_attack_stall_while_down_then_restored_during_stall(
    daemon: Daemon, topology: Topology
) -> None:
    """The circuit recovers 1 s into a 12 s stall. The end is the first success sent after
    the stall (a real result, sent late); the stall is an unmonitored gap inside the outage,
    shown beside it, journalled across a restart and counted."""
    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    topology.cut_all()
    incident = daemon.wait_for(lambda: daemon.incidents(), 10, "an incident")[0]
    assert daemon.proc is not None
    stopped, resumed = _stall(daemon.proc.pid, 1.0, topology.restore_all)
    closed = daemon.wait_for(lambda: _closed(daemon), 10, "the incident closed")[0]
    assert closed["id"] == incident["id"]
    gap = _the_stall_gap(closed["gaps"], stopped, resumed)
    end = _ts(closed["end"])
    assert _ts(gap["end"]) - SLACK_S <= end <= _ts(gap["end"]) + INTERVAL + SLACK_S, (
        "the end is the first success sent after the stall"
    )
    full = daemon.get(f"/api/incidents/{closed['id']}")
    assert "gap" in [e["kind"] for e in full["timeline"]]
    assert _metric(daemon, "slawatch_loop_stalls_total") == 1
    assert _metric(daemon, "slawatch_unmonitored_seconds_total") >= STALL_S - SLACK_S
    daemon.stop()
    daemon.start()
    again = daemon.wait_for(lambda: daemon.get(f"/api/incidents/{closed['id']}"), 10, "up")
    assert gap in again["gaps"], "the stall's gap is journalled"


def test_attack_stall_cut_during_stall_start_backdated(daemon: Daemon, topology: Topology) -> None:
    """All paths cut 1 s into a 12 s stall: the start is the first failure sent after the
    stall (not backdated into unmonitored time), and the stall is reported beside the outage,
    which may have begun in it."""
    daemon.wait_for(lambda: all_up(daemon), 10, "all paths up")
    assert daemon.proc is not None
    stopped, resumed = _stall(daemon.proc.pid, 1.0, topology.cut_all)
    incident = daemon.wait_for(lambda: daemon.incidents(), 10, "an incident")[0]
    assert incident["gaps"], "the open incident shows the stall beside it"
    topology.restore_all()
    closed = daemon.wait_for(lambda: _closed(daemon), 10, "the incident closed")[0]
    assert incident["id"] == closed["id"]
    gap = _the_stall_gap(closed["gaps"], stopped, resumed)
    start = _ts(closed["start"])
    assert _ts(gap["end"]) - SLACK_S <= start <= _ts(gap["end"]) + INTERVAL + SLACK_S
