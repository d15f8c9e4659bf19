"""A real ``slawatch run`` process in the NOC namespace of a test topology."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support import free_port
from tests.topology import Topology

INTERVAL = 0.2


def config(
    topo: Topology,
    tmp: Path,
    *,
    port: int,
    smtp_port: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A config for the topology's circuit: fast probes, journal and maildir under tmp.
    ``extra`` is merged over the top level (a "circuit" key over the circuit's keys, an
    "http" key over the http keys)."""
    data: dict[str, Any] = {
        "timezone": "Asia/Tokyo",
        "fail_after": 3,
        "recover_after": 2,
        "probe_interval_s": INTERVAL,
        "probe_timeout_s": INTERVAL,
        "journal": str(tmp / "journal.db"),
        "http": {"listen": f"{topo.noc_mgmt_address}:{port}", "token_file": None},
        "control_targets": [{"name": "noc-gw", "address": topo.gateway_address}],
        "notify": {
            "from": "slawatch@noc.example",
            "noc": ["noc-duty@noc.example"],
            "maildir": str(tmp / "maildir"),
            "smtp": []
            if smtp_port is None
            else [
                {"host": topo.root_mgmt_address, "port": smtp_port, "tls": "none", "timeout_s": 2}
            ],
        },
        "circuits": [
            {
                "id": "er-test-1",
                "monthly_fee_yen": 300000,
                "contacts": ["fault@customer.example"],
                "paths": [
                    {"router": r, "demarc": d, "address": topo.path_address(r, d)}
                    for r in ("active", "standby")
                    for d in ("primary", "secondary")
                ],
            }
        ],
    }
    extra = dict(extra or {})
    data["circuits"][0].update(extra.pop("circuit", {}))
    data["http"].update(extra.pop("http", {}))
    data["circuits"].extend(extra.pop("more_circuits", []))
    data.update(extra)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class Daemon:
    @classmethod
    def launch(
        cls,
        topo: Topology,
        tmp: Path,
        *,
        smtp_port: int | None = None,
        extra: dict[str, Any] | None = None,
        nofile: int | None = None,
    ) -> Daemon:
        """Write a config for ``topo`` under ``tmp`` and start the daemon on a free port;
        ``nofile`` lowers the daemon's RLIMIT_NOFILE (soft and hard)."""
        topo.restore_all()
        port = free_port()
        cfg = config(topo, tmp, port=port, smtp_port=smtp_port, extra=extra)
        d = cls(topo, cfg, port, tmp / "daemon.log", nofile=nofile)
        d.start()
        return d

    def __init__(
        self,
        topo: Topology,
        cfg: Path,
        port: int,
        log: Path,
        *,
        nofile: int | None = None,
        ns: str = "noc",
        host: str | None = None,
    ) -> None:
        """``ns``: the namespace it runs in, ``host``: the address its HTTP listens on
        (default: the NOC's management address)."""
        self.topo, self.cfg, self.port, self.log = topo, cfg, port, log
        self.nofile = nofile
        self.ns, self.host = ns, host or topo.noc_mgmt_address
        self.proc: subprocess.Popen[bytes] | None = None

    def _limits(self) -> None:
        """In the child, before exec: the descriptor limit the test asked for."""
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self) -> None:
        with open(self.log, "ab") as fh:  # the child keeps its own copy of the descriptor
            self.proc = self.topo.popen(
                self.ns,
                [sys.executable, "-m", "monitor", "run", "--config", str(self.cfg)],
                stdout=fh,
                stderr=fh,
                cwd=str(self.cfg.parent),
                preexec_fn=self._limits,
            )
        self.wait_for(lambda: self.get("/healthz") is not None, 15, "daemon answering")

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.url(path), timeout=2) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def text(self, path: str) -> str:
        with urllib.request.urlopen(self.url(path), timeout=2) as resp:
            return str(resp.read().decode())

    def wait_for(self, cond: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:"
                    f"\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            value = cond()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what}:\n"
            f"{self.log.read_text(errors='replace')[-3000:]}"
        )

    def incidents(self) -> list[dict[str, Any]]:
        return self.get("/api/incidents?circuit=er-test-1") or []

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        # ip netns exec replaces itself with python (exec), so the pid is the daemon's
        os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc = None

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
