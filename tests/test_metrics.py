"""Metrics on a fresh registry per test, read back with get_sample_value."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.core.model import Demarc, PathKey, PathState, ProbeResult, Router
from monitor.metrics import Metrics

P = PathKey(circuit="c1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
LABELS = {"circuit": "c1", "router": "active", "demarc": "primary"}


def test_path_states_and_circuit() -> None:
    m = Metrics()
    g = m.registry.get_sample_value
    m.path_state(P, PathState.UP)
    assert g("slawatch_path_up", LABELS) == 1
    m.path_state(P, PathState.DOWN)
    assert g("slawatch_path_up", LABELS) == 0
    m.path_state(P, PathState.UNKNOWN)
    assert g("slawatch_path_up", LABELS) is None  # absent while unknown
    m.circuit_available("c1", False)
    assert g("slawatch_circuit_available", {"circuit": "c1"}) == 0


def test_counters_start_at_zero_and_durations_clamp() -> None:
    m = Metrics(version="9.9")
    g = m.registry.get_sample_value
    m.init_circuit("c1")
    assert g("slawatch_incidents_total", {"circuit": "c1"}) == 0
    assert g("slawatch_notification_breaches_total", {"circuit": "c1"}) == 0
    m.incident_opened("c1")
    m.incident_closed("c1", 1860.0)
    m.incident_closed("c1", -5.0)
    assert g("slawatch_incidents_total", {"circuit": "c1"}) == 1
    assert g("slawatch_outage_seconds_total", {"circuit": "c1"}) == 1860
    at = datetime(2026, 10, 7, tzinfo=UTC)
    m.probes(
        [
            ProbeResult(target="a", at=at, ok=True, rtt=0.0004),
            ProbeResult(target="b", at=at, ok=False, error="timeout"),
        ]
    )
    assert g("slawatch_probes_total", {"result": "ok"}) == 1
    assert g("slawatch_probes_total", {"result": "fail"}) == 1
    assert g("slawatch_probe_rtt_seconds_bucket", {"le": "0.0005"}) == 1
    m.notification_accepted(-1.0)
    assert g("slawatch_notification_latency_seconds_sum") == 0
    assert g("slawatch_build_info", {"version": "9.9"}) == 1


def test_deadline_series_only_while_pending() -> None:
    m = Metrics()
    g = m.registry.get_sample_value
    m.set_deadline("c1", 120.0)
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) == 120
    m.set_deadline("c1", -3.0)
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) == -3
    m.set_deadline("c1", None)
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) is None
    m.set_credit("c1", "2026-10", 1 / 90)
    m.last_probe(datetime(2026, 10, 7, tzinfo=UTC))
    body, ctype = m.render()
    assert b'slawatch_credit_fraction{circuit="c1",month="2026-10"}' in body
    assert ctype.startswith("text/plain")
    m.forget_circuit("c1")
    assert g("slawatch_incidents_total", {"circuit": "c1"}) is None


def test_a_forgotten_circuit_gets_its_series_back_when_set_again() -> None:
    """Per-circuit gauges skip values they hold already; forgetting a circuit must forget
    what its series held, or setting the same value again would leave no series at all."""
    m = Metrics()
    g = m.registry.get_sample_value
    for _ in range(2):
        m.circuit_available("c1", True)
        m.set_open_incident("c1", 0.0)
        m.set_deadline("c1", 60.0)
        assert g("slawatch_circuit_available", {"circuit": "c1"}) == 1
        assert g("slawatch_open_incident_seconds", {"circuit": "c1"}) == 0
        assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) == 60
        m.forget_circuit("c1")
        assert g("slawatch_circuit_available", {"circuit": "c1"}) is None
    m.set_deadline("c2", None)  # never set: nothing to remove, no error
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c2"}) is None
