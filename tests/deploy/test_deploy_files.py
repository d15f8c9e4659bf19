"""The deploy artefacts: promtool on the rules, the unit file, the dashboard JSON."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.service.fds import RESERVE
from monitor.web import IN_FLIGHT, Limits
from tests.support import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROM = DEPLOY / "prometheus"

EXPORTED = {
    "slawatch_path_up",
    "slawatch_circuit_available",
    "slawatch_probe_rtt_seconds",
    "slawatch_probes_total",
    "slawatch_last_probe_timestamp_seconds",
    "slawatch_incidents_total",
    "slawatch_outage_seconds_total",
    "slawatch_open_incident_seconds",
    "slawatch_notification_deadline_seconds",
    "slawatch_notification_latency_seconds",
    "slawatch_notification_attempts_total",
    "slawatch_notification_breaches_total",
    "slawatch_credit_fraction",
    "slawatch_monitor_blind",
    "slawatch_journal_write_seconds",
    "slawatch_journal_write_errors_total",
    "slawatch_unmonitored_seconds_total",
    "slawatch_build_info",
    "slawatch_snmp_polls_total",
    "slawatch_snmp_traps_total",
}


def promtool() -> str:
    return require_tool("promtool", "prometheus")


def run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_check_and_unit_tests() -> None:
    tool = promtool()
    run(tool, "check", "rules", str(PROM / "slawatch.rules.yml"))
    run(tool, "test", "rules", str(PROM / "tests" / "slawatch.rules.test.yml"))


def test_every_alert_has_a_unit_test_and_a_runbook() -> None:
    import yaml

    rules = yaml.safe_load((PROM / "slawatch.rules.yml").read_text())["groups"][0]["rules"]
    tests = yaml.safe_load((PROM / "tests" / "slawatch.rules.test.yml").read_text())["tests"]
    tested = {a["alertname"] for t in tests for a in t["alert_rule_test"] if a["exp_alerts"]}
    quiet = {a["alertname"] for t in tests for a in t["alert_rule_test"] if not a["exp_alerts"]}
    names = {r["alert"] for r in rules}
    assert names == tested == quiet  # each fires in a test and stays quiet in another
    assert all(r["annotations"].get("runbook") for r in rules)


def test_scrape_config_is_valid() -> None:
    run(promtool(), "check", "config", str(PROM / "prometheus.yml"))


def test_systemd_unit() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / "slawatch.service")
    svc = parser["Service"]
    assert svc["Type"] == "notify"
    assert svc["User"] == "slawatch"
    caps = {"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}  # raw ICMP; the trap port 162
    assert set(svc["AmbientCapabilities"].split()) == caps
    assert set(svc["CapabilityBoundingSet"].split()) == caps
    assert svc["EnvironmentFile"] == "-/etc/slawatch/secrets.env"
    assert svc["ProtectSystem"] == "strict"
    assert svc["StateDirectory"] == "slawatch"
    assert svc["Restart"] == "always"
    assert svc["WatchdogSec"] == "30s"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["NoNewPrivileges"] == "yes"
    # issue 10: idle connections must not take the descriptors notices need
    assert int(svc["LimitNOFILE"]) >= Limits().max_connections + IN_FLIGHT + RESERVE + 100
    assert "--config /etc/slawatch/config.yaml" in svc["ExecStart"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "slawatch.service").read_text()
    fake = tmp_path / "slawatch"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    (tmp_path / "slawatch.service").write_text(
        unit.replace("/opt/slawatch/.venv/bin/slawatch", str(fake))
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "slawatch.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    errors = [ln for ln in done.stderr.splitlines() if "slawatch.service" in ln]
    assert not errors, done.stderr


def dashboard_metric_names(path: Path = DEPLOY / "grafana" / "slawatch.json") -> set[str]:
    """Every slawatch metric (family) the dashboard queries."""
    exprs = [t["expr"] for p in json.loads(path.read_text())["panels"] for t in p["targets"]]
    names = {m for e in exprs for m in re.findall(r"\bslawatch_[a-z_]+", e)}
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_dashboard_queries_only_exported_metrics() -> None:
    names = dashboard_metric_names()
    assert names, "the dashboard queries nothing"
    assert names <= EXPORTED, names - EXPORTED
    data = json.loads((DEPLOY / "grafana" / "slawatch.json").read_text())
    assert {v["name"] for v in data["templating"]["list"]} == {"datasource", "circuit"}


def test_the_two_noc_host_configs_pass_check_config() -> None:
    """deploy/ha/noc-a.yaml and noc-b.yaml: valid, and alike but for what is each host's."""
    out = []
    for node in ("noc-a", "noc-b"):
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "check-config", str(DEPLOY / "ha" / f"{node}.yaml"),
             "--no-secrets"], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"cluster: node {node}; lease 30 s renewed every 5 s" in done.stdout
        out.append(yaml.safe_load((DEPLOY / "ha" / f"{node}.yaml").read_text()))
    a, b = out
    for own in ("cluster", "http", "control_targets"):
        assert a.pop(own) != b.pop(own)
    assert a == b
