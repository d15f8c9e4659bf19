"""A leader reads, with the other NOC hosts' news, the relays' acceptances of notices about
the incidents it still waits to see notified, and hands them to the supervisor as any relay's
answer (service/cluster.py); a standby does not.

Found by running two NOC hosts (tests/e2e/test_notified_takeover.py): a leader that lost its
lease between a relay's 250 and its write-down wrote the delivery down after the new leader
resumed from the journal (before or after its claim of the row); the new leader learnt of it
only at its next start or lead, and meanwhile counted a notification breach.

The real lease loop, lease table and store thread, on a SQLite journal (its lease fences as
PostgreSQL's does); the supervisor is the test, which records what it is fed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from monitor.core.inputs import Delivered, Peers
from monitor.core.plan import ClusterPlan
from monitor.core.tracker import Incident, IncidentOpened
from monitor.service.cluster import Cluster
from monitor.store import open_store
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.store.sql import SqlStore
from tests.service.harness import T0, until
from tests.store.test_contract import delivery
from tests.store.test_lease import LONG, notice

S = timedelta(seconds=1)
FAULT = "a@x.example"


def journal(tmp: Path, leader: str | None = None) -> SqlStore:
    """noc-b's journal: incident 1 with its opened notice, accepted for ``FAULT`` at T0 + 4 s
    (the write-down of a leader gone), the incident never notified in the journal; the lease
    ``leader``'s, if given."""
    store = open_store(str(tmp / "journal.db"), node="noc-b")
    assert isinstance(store, SqlStore)
    if leader is not None:
        assert store.lease.acquire_or_renew(leader, LONG) is not None
    store.record([IncidentOpened(incident=Incident(id=1, circuit="c1", start=T0,
                                                   detected=T0 + 3 * S))])  # fmt: skip
    item = store.outbox.put(notice("<m1@x>"), T0 + 3 * S)
    assert item is not None
    store.outbox.finish(item.id, [delivery(FAULT, True, T0 + 4 * S)], T0 + 60 * S)
    return store


async def fed_while(store: SqlStore, *, waiting: list[int], rounds: int) -> list[object]:
    """What noc-b's lease loop feeds the supervisor over ``rounds`` reads of the news."""
    fed: list[object] = []
    journal_: AsyncStore[Store] = AsyncStore(store, ThreadPoolExecutor(max_workers=1))

    async def lead(epoch: int) -> None:
        pass

    cluster = Cluster(ClusterPlan(node="noc-b", lease_s=30.0, renew_s=5.0, news_s=0.02),
                      journal_, fresh=lambda: True, feed=fed.append, on_lead=lead,
                      on_follow=lambda why: None, waiting=lambda: waiting)  # fmt: skip
    runner = asyncio.create_task(cluster.run())
    try:
        await until(lambda: sum(isinstance(f, Peers) for f in fed) >= rounds, 10)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await journal_.close()
    return fed


async def test_a_leader_is_fed_the_acceptances_of_the_incidents_it_waits_on(
    tmp_path: Path,
) -> None:
    fed = await fed_while(journal(tmp_path), waiting=[1], rounds=2)
    told = [f for f in fed if isinstance(f, Delivered)]
    assert told and all(d.incident == 1 and d.kind == "opened" for d in told)
    assert told[0].told([FAULT]) == T0 + 4 * S  # the live rule's (Supervisor._delivered)


async def test_nothing_is_read_when_no_incident_waits(tmp_path: Path) -> None:
    fed = await fed_while(journal(tmp_path), waiting=[], rounds=2)
    assert not [f for f in fed if isinstance(f, Delivered)]


async def test_a_standby_reads_none(tmp_path: Path) -> None:
    fed = await fed_while(journal(tmp_path, leader="noc-a"), waiting=[1], rounds=2)
    assert not [f for f in fed if isinstance(f, Delivered)]
