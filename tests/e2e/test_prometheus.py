"""A real Prometheus scrapes the real daemon; the outage shows in its query API and alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.prometheus_fixture import Prometheus
from tests.deploy.test_deploy_files import dashboard_metric_names
from tests.e2e.daemon import Daemon, free_port
from tests.e2e.test_daemon import all_up
from tests.support import require_tool
from tests.topology import Topology

pytestmark = pytest.mark.netns


def test_prometheus_sees_the_outage_and_the_alert(topology: Topology, tmp_path: Path) -> None:
    require_tool("prometheus")
    # the relay is down (nothing listens), so the notice stays pending: the deadline countdown
    # series exists while the outage lasts
    d = Daemon.launch(topology, tmp_path, smtp_port=free_port())
    prom = Prometheus(tmp_path, f"{topology.noc_mgmt_address}:{d.port}")
    try:
        d.wait_for(lambda: all_up(d), 10, "all paths up")
        d.wait_for(
            lambda: [r for r in prom.query("slawatch_circuit_available") if r["value"][1] == "1"],
            20,
            "Prometheus sees the circuit up",
        )
        topology.cut_all()
        down = d.wait_for(
            lambda: [r for r in prom.query("slawatch_circuit_available == 0")],
            20,
            "Prometheus sees slawatch_circuit_available = 0",
        )
        assert down[0]["metric"]["circuit"] == "er-test-1"
        alerts = d.wait_for(
            lambda: [
                a
                for a in prom.alerts()
                if a["labels"]["alertname"] == "SlawatchCircuitUnavailable"
                and a["state"] in ("pending", "firing")
            ],
            20,
            "the circuit-unavailable alert",
        )
        assert alerts[0]["labels"]["circuit"] == "er-test-1"
        # every metric the Grafana dashboard queries exists in this live scrape
        d.wait_for(
            lambda: (
                "slawatch_notification_deadline_seconds" in prom.series_names()
                and "slawatch_credit_fraction" in prom.series_names()
            ),
            20,
            "deadline and credit series scraped",
        )
        missing = dashboard_metric_names() - {
            n.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            for n in prom.series_names()
        }
        assert not missing, missing
    finally:
        prom.stop()
        d.ensure_stopped()
        topology.restore_all()
