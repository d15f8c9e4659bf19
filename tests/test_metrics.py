"""Metrics on a fresh registry per test, read back with get_sample_value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from monitor.core.effects import Metric, MetricName
from monitor.metrics import RTT_BUCKETS, Metrics

LABELS = {"circuit": "c1", "router": "active", "demarc": "primary"}
PATH = ("c1", "active", "primary")
NOW = datetime(2026, 10, 7, tzinfo=UTC)


def test_path_states_and_circuit() -> None:
    m = Metrics()
    g = m.registry.get_sample_value
    m.apply(Metric(name=MetricName.PATH_UP, labels=PATH, value=1.0))
    assert g("slawatch_path_up", LABELS) == 1
    m.apply(Metric(name=MetricName.PATH_UP, labels=PATH, value=0.0))
    assert g("slawatch_path_up", LABELS) == 0
    m.apply(Metric(name=MetricName.PATH_UP, labels=PATH, value=None))
    assert g("slawatch_path_up", LABELS) is None  # absent while unknown
    m.apply(Metric(name=MetricName.CIRCUIT_AVAILABLE, labels=("c1",), value=0.0))
    assert g("slawatch_circuit_available", {"circuit": "c1"}) == 0
    assert g("slawatch_incidents_total", {"circuit": "c1"}) == 0  # its counters exist from now


def test_counters_start_at_zero_and_durations_clamp() -> None:
    m = Metrics(version="9.9")
    g = m.registry.get_sample_value
    m.init_circuit("c1")
    assert g("slawatch_incidents_total", {"circuit": "c1"}) == 0
    assert g("slawatch_notification_breaches_total", {"circuit": "c1"}) == 0
    m.apply(Metric(name=MetricName.INCIDENTS, labels=("c1",)))
    m.apply(Metric(name=MetricName.OUTAGE_SECONDS, labels=("c1",), value=1860.0))
    m.apply(Metric(name=MetricName.OUTAGE_SECONDS, labels=("c1",), value=-5.0))
    assert g("slawatch_incidents_total", {"circuit": "c1"}) == 1
    assert g("slawatch_outage_seconds_total", {"circuit": "c1"}) == 1860
    m.probes((True, False, True), (0.0004, None, None))  # ok without an RTT: SNMP's
    assert g("slawatch_probes_total", {"result": "ok"}) == 2
    assert g("slawatch_probes_total", {"result": "fail"}) == 1
    assert g("slawatch_probe_rtt_seconds_bucket", {"le": "0.0005"}) == 1
    m.apply(Metric(name=MetricName.NOTIFICATION_LATENCY, value=-1.0))
    assert g("slawatch_notification_latency_seconds_sum") == 0
    assert g("slawatch_build_info", {"version": "9.9"}) == 1
    assert g("slawatch_probe_results_dropped_total", {"reason": "stale"}) == 0
    m.apply(Metric(name=MetricName.DROPPED, labels=("unknown",)))
    assert g("slawatch_probe_results_dropped_total", {"reason": "unknown"}) == 1


def test_countdowns_are_read_at_each_scrape() -> None:
    m = Metrics()
    g = m.registry.get_sample_value
    left: list[float | None] = [120.0]
    m.watch(lambda now: [("c1", 60.0, left[0])], lambda: NOW)
    m.render()
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) == 120
    assert g("slawatch_open_incident_seconds", {"circuit": "c1"}) == 60
    left[0] = -3.0
    m.render()
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) == -3
    left[0] = None
    m.render()
    assert g("slawatch_notification_deadline_seconds", {"circuit": "c1"}) is None


def test_a_forgotten_circuit_leaves_no_series() -> None:
    m = Metrics()
    g = m.registry.get_sample_value
    m.apply(Metric(name=MetricName.PATH_UP, labels=PATH, value=1.0))
    m.apply(Metric(name=MetricName.CIRCUIT_AVAILABLE, labels=("c1",), value=1.0))
    m.set_credit("c1", "2026-10", 1 / 90)
    m.last_probe(NOW)
    body, ctype = m.render()
    assert b'slawatch_credit_fraction{circuit="c1",month="2026-10"}' in body
    assert ctype.startswith("text/plain")
    m.apply(Metric(name=MetricName.FORGET, labels=("c1", "active/primary", "standby/secondary")))
    body, _ = m.render()
    assert b'circuit="c1"' not in body
    assert g("slawatch_path_up", LABELS) is None


@given(st.lists(st.one_of(st.sampled_from(RTT_BUCKETS), st.floats(0.0, 5.0)), max_size=60),
       st.lists(st.floats(0.0, 5.0), max_size=60))  # fmt: skip
def test_the_rtt_tally_exposes_what_prometheus_clients_histogram_would(
    first: list[float], second: list[float]
) -> None:
    """Counted a batch at a time, the RTT histogram reads as prometheus_client's own, values
    on a bound included (``le``)."""
    m, theirs = Metrics(), CollectorRegistry()
    reference = Histogram("slawatch_probe_rtt_seconds", "x", buckets=RTT_BUCKETS, registry=theirs)
    for batch in (first, second):
        m.probes([True] * len(batch), batch)
        for v in batch:
            reference.observe(v)
    for le in (*map(repr, RTT_BUCKETS), "+Inf"):
        name, labels = "slawatch_probe_rtt_seconds_bucket", {"le": le}
        assert m.registry.get_sample_value(name, labels) == theirs.get_sample_value(name, labels)
    count = "slawatch_probe_rtt_seconds_count"
    assert m.registry.get_sample_value(count) == len(first) + len(second)
    total = m.registry.get_sample_value("slawatch_probe_rtt_seconds_sum")
    assert total == pytest.approx(sum(first) + sum(second))
