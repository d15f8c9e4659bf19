"""Prometheus metrics: the only module that imports prometheus_client.

Every metric lives on an injected ``CollectorRegistry`` (a fresh one per test), never the
global one. Units are in the names (``_seconds``), counters end in ``_total``, durations are
clamped at zero. See README "Metrics" for what each one means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from monitor.clock import Wall, utcnow
from monitor.core.effects import Metric, MetricName
from monitor.metrics.families import Series, Tally

Countdowns = Callable[[datetime], list[tuple[str, float, float | None]]]

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
        # per path and per circuit: Series (families.py), not prometheus_client's children
        self._path_up = Series(
            "slawatch_path_up",
            "1 while the path is up, 0 while down; absent while unknown",
            ["circuit", "router", "demarc"],
            registry=r,
        )
        self._available = Series(
            "slawatch_circuit_available",
            "1 while the circuit is available (no open incident)",
            ["circuit"],
            registry=r,
        )
        self._rtt = Tally(
            "slawatch_probe_rtt_seconds",
            "Round-trip time of answered probes",
            RTT_BUCKETS,
            registry=r,
        )
        self._probes = Counter(
            "slawatch_probes_total", "Probe results by result (ok, fail)", ["result"], registry=r
        )
        self._last_probe = Gauge(
            "slawatch_last_probe_timestamp_seconds",
            "Unix time of the latest probe result",
            registry=r,
        )
        self._incidents = Series(
            "slawatch_incidents_total", "Incidents opened", ["circuit"], counter=True, registry=r
        )
        self._outage = Series(
            "slawatch_outage_seconds_total",
            "Seconds of closed outages (raw duration)",
            ["circuit"],
            counter=True,
            registry=r,
        )
        self._open = Series(
            "slawatch_open_incident_seconds",
            "Age of the open incident in seconds (0 when none)",
            ["circuit"],
            registry=r,
        )
        self._deadline = Series(
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
        self._breaches = Series(
            "slawatch_notification_breaches_total",
            "Notification deadlines missed",
            ["circuit"],
            counter=True,
            registry=r,
        )
        self._credit = Series(
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
            "Seconds the daemon was not running (gaps found at start) or its event loop "
            "stalled (gaps found while running)",
            registry=r,
        )
        self._stalls = Counter(
            "slawatch_loop_stalls_total",
            "Times the event loop did not run for longer than the stall threshold",
            registry=r,
        )
        self._clock_steps = Counter(
            "slawatch_clock_steps_total",
            "Steps of the wall clock (over 1 s against the monotonic clock) seen while running",
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
        self._refused = Series(
            "slawatch_snmp_traps_refused_total",
            "Messages the trap receiver refused, by reason: community (unknown), unparsable, "
            "version, malformed, v3_user, v3_engine, v3_auth, v3_priv, v3_time, v3_level",
            ["reason"],
            counter=True,
            registry=r,
        )
        self._refused_now: Callable[[], Mapping[str, int]] = dict
        self._dropped = Series(
            "slawatch_probe_results_dropped_total",
            "Probe results not used: stale (older than one already used for the path) or "
            "unknown (the path was removed by a reload while the probe was in flight)",
            ["reason"],
            counter=True,
            registry=r,
        )
        for reason in ("stale", "unknown"):
            self._dropped.inc((reason,), 0.0)
        self._disagreements = Series(
            "slawatch_vantage_disagreements_total",
            "Times two NOC hosts saw a circuit differently (one all paths down, one not): no "
            "customer notice, the NOC alerted",
            ["circuit"],
            counter=True,
            registry=r,
        )
        self._leader = Gauge(
            "slawatch_cluster_leader",
            "1 while this NOC host holds the leader lease (sends notices), 0 while it stands by",
            registry=r,
        )
        self._epoch = Gauge(
            "slawatch_cluster_epoch",
            "The leader lease's fencing epoch this host leads under",
            registry=r,
        )
        self._chain_head = Gauge(
            "slawatch_journal_chain_head_record",
            "Number of the journal's hash-chain head (the last record this node wrote or read)",
            registry=r,
        )
        self._counters = {
            MetricName.DISAGREEMENTS: self._disagreements,
            MetricName.INCIDENTS: self._incidents,
            MetricName.OUTAGE_SECONDS: self._outage,
            MetricName.BREACHES: self._breaches,
            MetricName.DROPPED: self._dropped,
        }
        self._probe_ok, self._probe_fail = self._probes.labels("ok"), self._probes.labels("fail")
        self._countdowns: Countdowns = lambda now: []
        self._wall: Wall = utcnow
        self._credit_months: dict[str, set[str]] = {}
        Gauge("slawatch_build_info", "Build information", ["version"], registry=r).labels(
            version=version
        ).set(1)

    # -- the supervisor's effects --------------------------------------------------------------
    def apply(self, m: Metric) -> None:
        """Carry out one metric effect of the supervisor (core/effects.py)."""
        name, labels, value = m.name, m.labels, m.value
        if name is MetricName.PATH_UP:
            if value is None:
                self._path_up.remove(labels)
            else:
                self._path_up.set(labels, value)
        elif name is MetricName.CIRCUIT_AVAILABLE:
            self.init_circuit(labels[0])
            self._available.set(labels, value or 0.0)
        elif name is MetricName.FORGET:
            self.forget_circuit(labels[0], labels[1:])
        elif name is MetricName.BLIND:
            self._blind.set(value or 0.0)
        elif name is MetricName.NOTIFICATION_LATENCY:
            self._latency.observe(max(value or 0.0, 0.0))
        elif name is MetricName.UNMONITORED:
            self.unmonitored(value or 0.0)
        elif name is MetricName.STALLS:
            self._stalls.inc()
        else:
            self._counters[name].inc(labels, max(value or 0.0, 0.0))

    def clock_step(self) -> None:
        self._clock_steps.inc()

    def watch(self, countdowns: Countdowns, wall: Callable[[], datetime]) -> None:
        """At each scrape, ``countdowns(wall())`` gives (circuit, open incident seconds,
        seconds to the notification deadline or None) for the time-based gauges."""
        self._countdowns, self._wall = countdowns, wall

    def cluster(self, *, leader: bool, epoch: int | None) -> None:
        self._leader.set(1 if leader else 0)
        if epoch is not None:
            self._epoch.set(epoch)

    def traps_refused(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """The trap receiver's refusals by reason, read at each scrape from ``counts()``
        (totals since the start)."""
        self._refused_now = counts

    def chain_head(self, seq: Callable[[], int]) -> None:
        """The chain head's record number, read at each scrape from ``seq()``."""
        self._chain_head.set_function(lambda: float(seq()))

    def init_circuit(self, circuit: str) -> None:
        """Create a circuit's counters at 0, so ``increase()`` sees the first event."""
        for counter in (self._incidents, self._outage, self._breaches):
            counter.inc((circuit,), 0.0)
        for result in ("ok", "fail"):
            self._probes.labels(result)

    def probes(self, oks: Sequence[bool], rtts: Sequence[float | None]) -> None:
        """Count a batch of probe results by position (``oks``; ``rtts`` in seconds, None
        for none) and observe the RTTs of the successful ones. One call per batch: at
        10,000 results a second, a call and two counter locks per result cost 1 % of a core;
        the RTT histogram is a :class:`~monitor.metrics.families.Tally`: prometheus_client's
        took 4.8 us a result."""
        ok = oks.count(True)
        self._rtt.add(
            [(rtt if rtt > 0.0 else 0.0) for good, rtt in zip(oks, rtts, strict=True)
             if good and rtt is not None]
        )  # fmt: skip
        if ok:
            self._probe_ok.inc(ok)
        if len(oks) > ok:
            self._probe_fail.inc(len(oks) - ok)

    def tick_late(self, seconds: float) -> None:
        self._late.observe(max(seconds, 0.0))

    def last_probe(self, at: datetime) -> None:
        self._last_probe.set(at.timestamp())

    def notification_attempt(self, result: str) -> None:
        self._attempts.labels(result).inc()

    def set_credit(self, circuit: str, month: str, fraction: float) -> None:
        self._credit.set((circuit, month), fraction)
        self._credit_months.setdefault(circuit, set()).add(month)

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

    def forget_circuit(self, circuit: str, paths: Sequence[str] = ()) -> None:
        """Drop a circuit's series, its paths' (``router/demarc``) included: it is no longer
        monitored."""
        for metric in (self._available, self._incidents, self._outage, self._breaches):
            metric.remove((circuit,))
        for path in paths:
            router, demarc = path.split("/")
            self._path_up.remove((circuit, router, demarc))
        for month in self._credit_months.pop(circuit, set()):
            self._credit.remove((circuit, month))

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (the countdown gauges as of now)."""
        self.refresh()
        return self.expose()

    def expose(self) -> tuple[bytes, str]:
        """The exposition text as the metrics stand. Thread-safe (prometheus_client locks
        each value), so /metrics builds it in a worker thread: at 10,000 paths the text takes
        0.3-0.8 s of CPU, which on the event loop would stall every probe tick as long."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def refresh(self) -> None:
        """Set the countdown gauges as of now; on the event loop (it reads the supervisor)."""
        for reason, count in self._refused_now().items():
            self._refused.set((reason,), float(count))
        rows = self._countdowns(self._wall())
        for gauge in (self._open, self._deadline):
            gauge.clear()
        for circuit, age, left in rows:
            self._open.set((circuit,), age)
            if left is not None:
                self._deadline.set((circuit,), left)
