"""A real Prometheus (Debian's binary) on 127.0.0.1 for tests, with the shipped rules.

The scrape target is rewritten to the test's daemon, intervals shortened to 1 s and every
``for:`` of the rules to 1 s, so alerts can be seen pending or firing within seconds.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

PROM_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus (Debian package prometheus) is not installed")
        self.port = _free_port()
        cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
        cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        cfg["scrape_configs"][0]["static_configs"] = [{"targets": [target]}]
        rules = (PROM_DIR / "slawatch.rules.yml").read_text()
        (workdir / "slawatch.rules.yml").write_text(re.sub(r"for: \d+m", "for: 1s", rules))
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.log = workdir / "prometheus.log"
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=fh,
                stderr=fh,
            )
        self._wait_ready()

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
            return json.loads(r.read()) if path.startswith("/api") else r.read()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                self._get("/-/ready")
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready: {self.log.read_text()[-2000:]}")

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return list(data["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alerts")["data"]["alerts"])

    def series_names(self) -> set[str]:
        return set(self._get("/api/v1/label/__name__/values")["data"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
