"""Prometheus metrics: the only module that imports prometheus_client.

Every metric lives on an injected ``CollectorRegistry`` (a fresh one per test), never the
global one. Units are in the names (``_seconds``), counters end in ``_total``, durations are
clamped at zero. See README "Metrics" for what each one means.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from monitor.core.model import PathKey, PathState, ProbeResult

RTT_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
)
LATENCY_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)
JOURNAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class Metrics:
    """slawatch's metrics on ``registry``; methods take plain values, never raise."""

    def __init__(self, registry: CollectorRegistry | None = None, *, version: str = "") -> None:
        r = self.registry = registry or CollectorRegistry()
        self._path_up = Gauge(
            "slawatch_path_up",
            "1 while the path is up, 0 while down; absent while unknown",
            ["circuit", "router", "demarc"],
            registry=r,
        )
        self._available = Gauge(
            "slawatch_circuit_available",
            "1 while the circuit is available (no open incident)",
            ["circuit"],
            registry=r,
        )
        self._rtt = Histogram(
            "slawatch_probe_rtt_seconds",
            "Round-trip time of answered probes",
            buckets=RTT_BUCKETS,
            registry=r,
        )
        self._probes = Counter(
            "slawatch_probes_total", "Probe results by result (ok, fail)", ["result"], registry=r
        )
        # Bound once: labels() costs more than the increment, 10,000 times a second.
        self._probe_ok, self._probe_fail = self._probes.labels("ok"), self._probes.labels("fail")
        self._held: dict[tuple[Gauge, str], float] = {}
        """What each per-circuit gauge series holds (see ``_set``)."""
        self._last_probe = Gauge(
            "slawatch_last_probe_timestamp_seconds",
            "Unix time of the latest probe result",
            registry=r,
        )
        self._incidents = Counter(
            "slawatch_incidents_total", "Incidents opened", ["circuit"], registry=r
        )
        self._outage = Counter(
            "slawatch_outage_seconds_total",
            "Seconds of closed outages (raw duration)",
            ["circuit"],
            registry=r,
        )
        self._open = Gauge(
            "slawatch_open_incident_seconds",
            "Age of the open incident in seconds (0 when none)",
            ["circuit"],
            registry=r,
        )
        self._deadline = Gauge(
            "slawatch_notification_deadline_seconds",
            "Seconds left until the notification deadline of an incident "
            "with no accepted notice (negative once missed)",
            ["circuit"],
            registry=r,
        )
        self._latency = Histogram(
            "slawatch_notification_latency_seconds",
            "Detection to first acceptance of a notice by a relay",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._attempts = Counter(
            "slawatch_notification_attempts_total",
            "Delivery attempts by outcome",
            ["result"],
            registry=r,
        )
        self._breaches = Counter(
            "slawatch_notification_breaches_total",
            "Notification deadlines missed",
            ["circuit"],
            registry=r,
        )
        self._credit = Gauge(
            "slawatch_credit_fraction",
            "The month's capped credit as a fraction of the monthly fee",
            ["circuit", "month"],
            registry=r,
        )
        self._blind = Gauge(
            "slawatch_monitor_blind", "1 while a control target is down", registry=r
        )
        self._journal = Histogram(
            "slawatch_journal_write_seconds",
            "Duration of a durable journal transaction",
            buckets=JOURNAL_BUCKETS,
            registry=r,
        )
        self._journal_errors = Counter(
            "slawatch_journal_write_errors_total",
            "Journal writes that failed (retried)",
            registry=r,
        )
        self._late = Histogram(
            "slawatch_probe_tick_lateness_seconds",
            "How late the scheduler fired a batch of probes",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self._unmonitored = Counter(
            "slawatch_unmonitored_seconds_total",
            "Seconds the daemon was not running (gaps found at start)",
            registry=r,
        )
        self._snmp_polls = Counter(
            "slawatch_snmp_polls_total",
            "SNMP readings by kind (ifOperStatus, bgpPeerState) and result (up, down, error)",
            ["kind", "result"],
            registry=r,
        )
        self._traps = Counter(
            "slawatch_snmp_traps_total",
            "SNMP notifications received, by kind, and whether they named a monitored router",
            ["kind", "matched"],
            registry=r,
        )
        Gauge("slawatch_build_info", "Build information", ["version"], registry=r).labels(
            version=version
        ).set(1)

    def init_circuit(self, circuit: str) -> None:
        """Create a circuit's counters at 0, so ``increase()`` sees the first event."""
        for counter in (self._incidents, self._outage, self._breaches):
            counter.labels(circuit)
        for result in ("ok", "fail"):
            self._probes.labels(result)

    def path_state(self, path: PathKey, state: PathState) -> None:
        labels = (path.circuit, path.router.value, path.demarc.value)
        if state is PathState.UNKNOWN:
            _remove(self._path_up, *labels)
        else:
            self._path_up.labels(*labels).set(1 if state is PathState.UP else 0)

    def circuit_available(self, circuit: str, available: bool) -> None:
        self._set(self._available, circuit, 1 if available else 0)

    def probes(self, results: Iterable[ProbeResult]) -> None:
        """Count a batch of probe results and observe their RTTs (one call per batch: at
        10,000 results a second, a call and two counter locks per result cost 1 % of a core)."""
        ok = fail = 0
        observe = self._rtt.observe
        for r in results:
            if r.ok:
                ok += 1
                if r.rtt is not None:
                    observe(r.rtt if r.rtt > 0.0 else 0.0)
            else:
                fail += 1
        if ok:
            self._probe_ok.inc(ok)
        if fail:
            self._probe_fail.inc(fail)

    def tick_late(self, seconds: float) -> None:
        self._late.observe(max(seconds, 0.0))

    def last_probe(self, at: datetime) -> None:
        self._last_probe.set(at.timestamp())

    def incident_opened(self, circuit: str) -> None:
        self._incidents.labels(circuit).inc()

    def incident_closed(self, circuit: str, duration_s: float) -> None:
        self._outage.labels(circuit).inc(max(duration_s, 0.0))

    def set_open_incident(self, circuit: str, seconds: float) -> None:
        self._set(self._open, circuit, max(seconds, 0.0))

    def set_deadline(self, circuit: str, seconds: float | None) -> None:
        if seconds is None:
            self._drop(self._deadline, circuit)
        else:
            self._set(self._deadline, circuit, seconds)

    def _set(self, gauge: Gauge, circuit: str, value: float) -> None:
        """Set a circuit's series of ``gauge``, unless it holds ``value`` already: the daemon
        refreshes every circuit's gauges each second, and with thousands of circuits the
        label look-ups alone stalled the event loop for tens of milliseconds."""
        if self._held.get((gauge, circuit)) != value:
            gauge.labels(circuit).set(value)
            self._held[gauge, circuit] = value

    def _drop(self, gauge: Gauge, circuit: str) -> None:
        """Remove a circuit's series of ``gauge`` if it has one."""
        if self._held.pop((gauge, circuit), None) is not None:
            _remove(gauge, circuit)

    def notification_accepted(self, latency_s: float) -> None:
        self._latency.observe(max(latency_s, 0.0))

    def notification_attempt(self, result: str) -> None:
        self._attempts.labels(result).inc()

    def breach(self, circuit: str) -> None:
        self._breaches.labels(circuit).inc()

    def set_credit(self, circuit: str, month: str, fraction: float) -> None:
        self._credit.labels(circuit, month).set(fraction)

    def set_blind(self, blind: bool) -> None:
        self._blind.set(1 if blind else 0)

    def journal_write(self, seconds: float) -> None:
        self._journal.observe(max(seconds, 0.0))

    def journal_error(self) -> None:
        self._journal_errors.inc()

    def unmonitored(self, seconds: float) -> None:
        self._unmonitored.inc(max(seconds, 0.0))

    def snmp_reading(self, kind: str, ok: bool | None) -> None:
        result = "error" if ok is None else "up" if ok else "down"
        self._snmp_polls.labels(kind, result).inc()

    def snmp_trap(self, kind: str, matched: bool) -> None:
        self._traps.labels(kind, "yes" if matched else "no").inc()

    def forget_circuit(self, circuit: str) -> None:
        """Drop a circuit's series (it was removed from the configuration)."""
        for gauge in (self._available, self._open, self._deadline):
            self._held.pop((gauge, circuit), None)
        for metric in (
            self._available,
            self._open,
            self._deadline,
            self._incidents,
            self._outage,
            self._breaches,
        ):
            _remove(metric, circuit)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _remove(metric: Gauge | Counter, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
