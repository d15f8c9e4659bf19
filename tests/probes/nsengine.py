"""A test's handle on an IcmpEngine running in a namespace (engine_server.py)."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.topology import Topology

ROOT = Path(__file__).resolve().parents[2]


class EngineProcess:
    """``python -m tests.probes.engine_server`` (or another JSON-line ``module``, such as
    snmp_server) inside namespace ``short`` of ``topo``; ``prefix`` goes before python
    (e.g. setpriv to drop CAP_NET_RAW)."""

    def __init__(
        self,
        topo: Topology,
        short: str = "noc",
        *,
        prefix: tuple[str, ...] = (),
        module: str = "tests.probes.engine_server",
    ):
        cmd = [*prefix, sys.executable, "-m", module]
        self.proc = topo.popen(
            short, cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.hello = self._read(10.0)

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise AssertionError(f"engine server gave no answer in {timeout} s")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, **request: Any) -> dict[str, Any]:
        """Send one request, wait for its answer (at most 30 s)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read(30.0)

    def probe_many(self, targets: list[str], timeout: float) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.call(
            op="probe_many", targets=targets, timeout=timeout
        )["results"]
        return results

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.call(op="stats")["stats"]
        return stats

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> EngineProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
