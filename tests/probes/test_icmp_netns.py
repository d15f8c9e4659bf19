"""The engine and ``slawatch ping`` in the NOC namespace of a real topology (root only).

The engine runs as a subprocess inside the NOC (tests/probes/engine_server.py) and keeps
running while the test cuts and restores links from outside, as the daemon would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probes.nsengine import EngineProcess
from tests.support import require_tool
from tests.topology import Topology

pytestmark = pytest.mark.netns

ACTIVE_PRIMARY = Topology.path_address("active", "primary")
OTHER_PATHS = [Topology.path_address(r, d) for r, d in Topology.paths()][1:]
NO_ROUTE = "198.18.6.1"  # the NOC has no route at all to it


def by_target(results: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["target"]): r for r in results}


def test_all_four_paths_and_the_routers_answer(noc_engine: EngineProcess) -> None:
    topo_targets = [Topology.path_address(r, d) for r, d in Topology.paths()]
    routers = [Topology.router_address(r) for r in ("active", "standby")]
    results = noc_engine.probe_many([*topo_targets, *routers, Topology.gateway_address], 1.0)
    assert [r["target"] for r in results] == [*topo_targets, *routers, Topology.gateway_address]
    for r in results:
        assert r["ok"] is True and 0 < float(r["rtt"]) < 0.5, r
        assert str(r["at"]).endswith("+00:00")
    stats = noc_engine.stats()  # every RTT ends at the kernel's receive stamp
    assert stats["received"] == stats["kernel_stamped"] == len(results)


def test_a_cut_kills_exactly_its_path_and_restore_brings_it_back(
    icmp_topology: Topology, noc_engine: EngineProcess
) -> None:
    icmp_topology.cut("active", "primary")
    cut = by_target(noc_engine.probe_many([ACTIVE_PRIMARY, *OTHER_PATHS], 0.5))
    assert cut[ACTIVE_PRIMARY]["ok"] is False
    # the active router has lost its route to the demarc and says so
    assert cut[ACTIVE_PRIMARY]["error"] == (
        f"unreachable: ICMP network unreachable from {Topology.router_address('active')}"
    )
    assert all(cut[t]["ok"] is True for t in OTHER_PATHS)
    burst = noc_engine.call(op="burst", target=ACTIVE_PRIMARY, count=3, spacing=0.05, timeout=0.3)[
        "results"
    ]
    assert [r["ok"] for r in burst] == [False] * 3

    icmp_topology.restore("active", "primary")
    back = noc_engine.probe_many([ACTIVE_PRIMARY, *OTHER_PATHS], 0.5)
    assert all(r["ok"] is True for r in back), back


def test_silence_is_a_timeout_and_no_route_a_send_error(noc_engine: EngineProcess) -> None:
    start = time.monotonic()
    results = by_target(noc_engine.probe_many([Topology.unanswered_address, NO_ROUTE], 0.3))
    assert 0.3 <= time.monotonic() - start < 2.0
    assert results[Topology.unanswered_address]["error"] == "timeout"
    assert results[NO_ROUTE]["error"] == "send: [Errno 101] Network is unreachable"
    stats = noc_engine.stats()
    assert stats["timeouts"] == 1 and stats["send_errors"] == 1


@pytest.fixture
def foreign_pinger(icmp_topology: Topology) -> Iterator[subprocess.Popen[bytes]]:
    """fping looping every 50 ms on every path and on the unanswered address, in the NOC:
    another raw-socket pinger on the same host and the same targets as ours."""
    targets = [*OTHER_PATHS, ACTIVE_PRIMARY, Topology.unanswered_address]
    proc = icmp_topology.popen(
        "noc",
        [require_tool("fping"), "--loop", "--period=50", "--interval=1", "--quiet", *targets],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.2)
        assert proc.poll() is None, "fping exited at once"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def test_another_pinger_replies_are_never_counted_as_ours(
    icmp_topology: Topology,
    noc_engine: EngineProcess,
    foreign_pinger: subprocess.Popen[bytes],
) -> None:
    icmp_topology.cut("active", "primary")
    results = []
    for _ in range(4):
        results += noc_engine.probe_many(
            [ACTIVE_PRIMARY, Topology.unanswered_address, *OTHER_PATHS], 0.25
        )
    stats = noc_engine.stats()
    dead = [r for r in results if r["target"] in (ACTIVE_PRIMARY, Topology.unanswered_address)]
    live = [r for r in results if r["target"] in OTHER_PATHS]
    assert all(r["ok"] is False for r in dead)  # fping's replies never revive a dead path
    assert all(r["ok"] is True for r in live)
    # fping's echo replies (3 live targets every 50 ms) reached our socket and were refused
    assert stats["foreign_ignored"] > 10
    # every result is one of our sends, answered once or not at all
    assert stats["sent"] == len(results) == 20
    assert stats["received"] == len(live)
    assert stats["timeouts"] + stats["errors_received"] == len(dead)


def test_unprivileged_falls_back_to_ping_sockets_or_says_what_to_grant(
    icmp_topology: Topology,
) -> None:
    """Without CAP_NET_RAW: datagram ICMP if ping_group_range allows it, else a clear error."""
    no_raw = ("setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw")
    sysctl = "net.ipv4.ping_group_range"  # per namespace: changing it here touches nothing else
    try:
        icmp_topology.ns_exec("noc", "sysctl", "-qw", f"{sysctl}=0 0")
        with EngineProcess(icmp_topology, prefix=no_raw) as engine:
            assert engine.hello == {"mode": "dgram"}
            results = by_target(engine.probe_many([*OTHER_PATHS, Topology.unanswered_address], 0.3))
        assert all(results[t]["ok"] is True for t in OTHER_PATHS)
        assert results[Topology.unanswered_address]["error"] == "timeout"

        icmp_topology.ns_exec("noc", "sysctl", "-qw", f"{sysctl}=1 0")
        run = icmp_topology.ns_exec("noc", *no_raw, *slawatch("ping", OTHER_PATHS[0]), check=False)
        assert run.returncode == 2
        assert "CAP_NET_RAW" in run.stderr and "ping_group_range" in run.stderr
    finally:
        icmp_topology.ns_exec("noc", "sysctl", "-qw", f"{sysctl}=1 0")


def slawatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def test_ping_command_json_and_exit_codes(icmp_topology: Topology, tmp_path: Path) -> None:
    icmp_topology.restore_all()
    live = OTHER_PATHS[:2]
    ok = icmp_topology.ns_exec(
        "noc", *slawatch("ping", "--json", "--count", "3", "--period", "0.05", *live)
    )
    summaries = json.loads(ok.stdout)
    assert [s["target"] for s in summaries] == live
    for s in summaries:
        assert (s["sent"], s["received"], s["loss"]) == (3, 3, 0.0)
        assert 0 < s["min_ms"] <= s["avg_ms"] <= s["max_ms"] < 500

    targets = tmp_path / "targets"
    targets.write_text(f"# paths\n{live[0]}\n\n{Topology.unanswered_address}  # silent\n")
    lossy = icmp_topology.ns_exec(
        "noc", *slawatch("ping", "--json", "--timeout", "0.2", "-f", str(targets)), check=False
    )
    assert lossy.returncode == 1
    dead = json.loads(lossy.stdout)[1]
    assert dead == {
        "target": Topology.unanswered_address,
        "sent": 1,
        "received": 0,
        "loss": 1.0,
        "min_ms": None,
        "avg_ms": None,
        "max_ms": None,
    }

    text = icmp_topology.ns_exec("noc", *slawatch("ping", "--count", "2", "--period", "0", live[0]))
    assert text.stdout.startswith(f"{live[0]} : xmt/rcv/%loss = 2/2/0%, min/avg/max = ")
    assert text.stdout.rstrip().endswith(" ms")

    # Rounds start every --period however many are still in flight (as fping's -p): four
    # rounds with a 2 s timeout to a silent target take ~2.3 s, not four timeouts (8 s).
    start = time.monotonic()
    silent = icmp_topology.ns_exec(
        "noc",
        *slawatch("ping", "--json", "--count", "4", "--period", "0.1", "--timeout", "2",
                  Topology.unanswered_address, live[0]),
        check=False,
    )  # fmt: skip
    assert 2.0 <= time.monotonic() - start < 6.0
    assert [(s["sent"], s["received"]) for s in json.loads(silent.stdout)] == [(4, 0), (4, 4)]

    # No name resolves inside the NOC (no DNS there), so nothing can leave the machine.
    for bad in (["no_such_host.."], ["-f", str(targets), live[0]]):
        run = icmp_topology.ns_exec("noc", *slawatch("ping", *bad), check=False)
        assert run.returncode == 2 and run.stderr.startswith("slawatch ping: "), run.stderr
        assert "Traceback" not in run.stderr
