"""A batch of probe results that ends hundreds of outages at once is fed to the supervisor in
slices, the event loop running between them, and nothing of it is lost: a region recovering
at once closed an incident for nearly every result of a batch (~1.4 ms each with its notice,
evidence capture, record, metrics and log line), all in one turn of the loop (0.5 s of CPU
for 344 closes in the mass-outage bench). The real daemon, SQLite journal, outbox and a
Maildir; the prober never answers, so only the batches given here reach the core."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from monitor import config
from monitor.core.inputs import Probed
from monitor.core.model import Demarc, PathKey, Router
from monitor.metrics import Metrics
from monitor.service.daemon import FEED_SLICE, Daemon
from monitor.service.probing import Outcomes
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from tests.service.harness import ROLES, T0, Clock, many_circuits, until

CIRCUITS = FEED_SLICE  # four results each: a batch is four slices


class Silent:
    """A prober whose echoes are all still in flight."""

    async def outcomes(self, targets: list[str], *, timeout: float) -> Outcomes:
        await asyncio.Event().wait()
        raise AssertionError("never answers")


def settings(tmp: Path) -> config.Settings:
    ids = [f"c{c}" for c in range(CIRCUITS)]
    return many_circuits(tmp, ids, lambda c, i: f"127.0.{c // 50}.{4 * (c % 50) + i + 1}",
                         fail_after=3, recover_after=2)  # fmt: skip


def batch(second: int, *, ok: bool) -> Probed:
    """Every path's result sent ``second`` seconds after T0."""
    keys = tuple(
        PathKey(circuit=f"c{c}", router=Router(r), demarc=Demarc(d))
        for c in range(CIRCUITS)
        for r, d in ROLES
    )
    n, at = len(keys), T0 + timedelta(seconds=second)
    rtt, error = (0.001, None) if ok else (None, "timeout")
    return Probed(targets=keys, ats=(at,) * n, oks=(ok,) * n, rtts=(rtt,) * n, errors=(error,) * n)


async def daemon(tmp: Path, clock: Clock) -> tuple[Daemon, AsyncStore[Store], Metrics]:
    s = settings(tmp)
    store: AsyncStore[Store] = await AsyncStore.open(lambda: open_store(s.journal))
    metrics = Metrics()
    d = Daemon(s.plan(), store=store, prober=Silent(), transport=build_transport(s, clock),
               metrics=metrics, wall=clock, watch_clock=False)  # fmt: skip
    await d.start()
    for second in (1, 2, 3):  # every circuit down
        d.on_probed(batch(second, ok=False))
    await until(lambda: open_count(d) == CIRCUITS)
    return d, store, metrics


def open_count(d: Daemon) -> int:
    return sum(1 for c in range(CIRCUITS) if d.sup.tracker.open_incident(f"c{c}") is not None)


async def journalled(store: AsyncStore[Store]) -> tuple[int, int, int]:
    """(incidents closed, incidents open, RECOVERED notices) as the journal holds them."""
    incidents = await store.run(lambda s: s.incidents())
    notices = await store.run(lambda s: s.outbox.notices())
    closed = sum(1 for i in incidents if i.end is not None)
    return closed, len(incidents) - closed, sum(1 for n in notices if n.notice.kind == "recovered")


async def test_every_outage_ends_and_is_told_but_the_loop_runs_between_slices(
    tmp_path: Path,
) -> None:
    clock = Clock(T0 + timedelta(seconds=10))
    d, store, metrics = await daemon(tmp_path, clock)
    try:
        d.on_probed(batch(4, ok=True))
        d.on_probed(batch(5, ok=True))  # each circuit's second success: every outage ends
        # not one turn of the loop for them all: at most the first slice's closes (32
        # circuits) now, if the slices before it (deciding nothing) were all fed in this
        # turn (daemon.FEED_TURN_S), else none
        assert open_count(d) >= CIRCUITS - FEED_SLICE // 4
        await until(lambda: open_count(d) == 0)
    finally:
        await d.stop()
    try:
        assert await journalled(store) == (CIRCUITS, 0, CIRCUITS)
        stale = metrics.registry.get_sample_value(
            "slawatch_probe_results_dropped_total", {"reason": "stale"}
        )
        assert stale == 0
    finally:
        await store.close()


async def test_a_stop_feeds_the_slices_still_waiting(tmp_path: Path) -> None:
    clock = Clock(T0 + timedelta(seconds=10))
    d, store, _ = await daemon(tmp_path, clock)
    try:
        d.on_probed(batch(4, ok=True))
        d.on_probed(batch(5, ok=True))
    finally:
        await d.stop()  # at once: the slices not fed yet are fed, journalled and told
    try:
        assert await journalled(store) == (CIRCUITS, 0, CIRCUITS)
    finally:
        await store.close()
