"""Metric families counted or kept by slawatch itself and exposed through prometheus_client's
custom-collector interface, where a labelled prometheus_client metric costs too much: a child
object (value, lock) per label set, a Python loop and a lock per observation. Thread-safe:
changed on the event loop, collected in the scrape's worker thread.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric as Family


class Tally:
    """A histogram counted a batch at a time, for the probe RTTs: prometheus_client's
    ``Histogram.observe`` walks the bounds in Python and takes a lock per value (4.8 us a
    result here); this takes a bisect per value and one lock per batch (0.9 us). Exposed as a
    standard histogram (cumulative ``_bucket{le=...}``, ``_count``, ``_sum``)."""

    def __init__(
        self, name: str, doc: str, bounds: Sequence[float], *, registry: CollectorRegistry
    ) -> None:
        self.name, self.doc, self.bounds = name, doc, tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)  # the last: above every bound
        self._sum = 0.0
        self._lock = threading.Lock()  # collect() runs in the scrape's thread
        registry.register(self)

    def add(self, values: Iterable[float]) -> None:
        """Count a batch of values (each >= 0)."""
        bounds, counts, total = self.bounds, [0] * len(self._counts), 0.0
        for v in values:
            counts[bisect_left(bounds, v)] += 1  # le: a value on a bound counts in it
            total += v
        with self._lock:
            self._counts = [a + b for a, b in zip(self._counts, counts, strict=True)]
            self._sum += total

    def collect(self) -> Iterator[Family]:
        with self._lock:
            counts, total = self._counts, self._sum
        buckets, seen = [], 0
        for bound, n in zip((*self.bounds, float("inf")), counts, strict=True):
            seen += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), seen))
        yield HistogramMetricFamily(self.name, self.doc, buckets=buckets, sum_value=total)

    def describe(self) -> Iterator[Family]:
        yield HistogramMetricFamily(self.name, self.doc)


class Series:
    """A labelled gauge or counter kept as one dict of label values to value (~150 bytes a
    series against ~500 for a prometheus_client child): at 10,000 paths and 2,500 circuits,
    ~25,000 series. A counter's name ends in ``_total`` (as exposed)."""

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], *, counter: bool = False,
        registry: CollectorRegistry,
    ) -> None:  # fmt: skip
        self.name, self.doc, self.labels, self.counter = name, doc, tuple(labels), counter
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        registry.register(self)

    def set(self, labels: tuple[str, ...], value: float) -> None:
        with self._lock:
            self._values[labels] = value

    def inc(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        """Add ``amount`` (>= 0) to a series, made at 0 if new (``amount`` 0: just make it)."""
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def remove(self, labels: tuple[str, ...]) -> None:
        """Drop a series (no error if there is none)."""
        with self._lock:
            self._values.pop(labels, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def collect(self) -> Iterator[Family]:
        with self._lock:
            rows = list(self._values.items())
        family = self._family()
        for labels, value in rows:
            family.add_metric(list(labels), value)
        yield family

    def describe(self) -> Iterator[Family]:
        yield self._family()

    def _family(self) -> GaugeMetricFamily | CounterMetricFamily:
        if self.counter:
            return CounterMetricFamily(self.name, self.doc, labels=self.labels)
        return GaugeMetricFamily(self.name, self.doc, labels=self.labels)
