"""A batch of probe results that decides nothing (paths up answering again, a failure too
few to call a path down) does not wake the daemon's timer loop: the supervisor's next timer
cannot have moved (no event, so no capture and no deadline), and at 10,000 paths the loop
was woken to ask again for every slice fed, ~80 times a second. A batch that decides
something still wakes it. The real daemon, SQLite journal and Maildir; the prober never
answers, so only the batches given here reach the core."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.inputs import Probed
from monitor.core.model import Demarc, PathKey, Router
from monitor.metrics import Metrics
from monitor.service import daemon
from monitor.service.daemon import Daemon
from monitor.service.transports import build_transport
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from tests.service import test_big_batches as big
from tests.service.harness import T0, Clock, settings, until
from tests.service.test_big_batches import Silent

KEYS = tuple(PathKey(circuit="c1", router=r, demarc=d) for r in Router for d in Demarc)


def batch(second: int, *, ok: bool) -> Probed:
    n, at = len(KEYS), T0 + timedelta(seconds=second)
    rtt, error = (0.001, None) if ok else (None, "timeout")
    return Probed(targets=KEYS, ats=(at,) * n, oks=(ok,) * n, rtts=(rtt,) * n, errors=(error,) * n)


async def test_only_a_batch_that_decides_something_wakes_the_timer(tmp_path: Path) -> None:
    clock = Clock(T0 + timedelta(seconds=10))
    s = settings(tmp_path)
    store: AsyncStore[Store] = await AsyncStore.open(lambda: open_store(s.journal))
    d = Daemon(s.plan(), store=store, prober=Silent(), transport=build_transport(s, clock),
               metrics=Metrics(), wall=clock, watch_clock=False)  # fmt: skip
    await d.start()
    woken = []
    try:
        for second, ok in [(1, True), (2, True), (3, True), (4, False), (5, False), (6, False)]:
            d._wake.clear()
            d.on_probed(batch(second, ok=ok))  # four results: fed at once, not in slices
            woken.append(d._wake.is_set())
        # the first results (monitoring starts), the paths up, then nothing: up again, a
        # failure, a second one; the third: every path down, an incident opens
        assert woken == [True, True, False, False, False, True]
        assert d.sup.tracker.open_incident("c1") is not None
    finally:
        await d.stop()
        await store.close()


async def test_slices_that_decide_nothing_go_in_one_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big batch is fed in slices; those that decide nothing one after another in the same
    turn of the loop (up to FEED_TURN_S), not a turn each: a turn costs the loop's own round.
    With no time for more (FEED_TURN_S 0), a slice a turn, as before."""
    clock = Clock(T0 + timedelta(seconds=10))
    d, store, _ = await big.daemon(tmp_path, clock)  # every circuit down, an incident each
    try:
        monkeypatch.setattr(daemon, "FEED_TURN_S", 60.0)  # a slow machine's turn is no test
        d.on_probed(big.batch(4, ok=True))  # a first success after the failures: no change
        assert not d._slices  # four slices, all fed now
        monkeypatch.setattr(daemon, "FEED_TURN_S", 0.0)
        d.on_probed(big.batch(5, ok=False))  # the run broken again: no change either
        assert len(d._slices) == 3  # one slice this turn, the rest one a turn
        await until(lambda: not d._slices)
        assert big.open_count(d) == big.CIRCUITS
    finally:
        await d.stop()
        await store.close()
