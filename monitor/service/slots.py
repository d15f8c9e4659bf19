"""How many notices are delivered at once, and which goes first when they must wait.

In a region gone dark a few thousand notices wait for a relay that takes a few a second. Taken
first come, first served, the designated contact of an incident not yet told waited behind
escalation groups, second languages and recoveries, and a delivery in its backoff between
two tries kept its place all the while: a mass-outage attack saw 30 of 1,000 incidents told
after their 30-minute deadline, with the relay back for the last 20 minutes, and the NOC's
"deadline at risk" warnings arrive after the deadlines they warned of. So a delivery waits by
rank (:func:`rank`), then in arrival order, and gives its place up while it waits between
two tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

from monitor.core.deadlines import NOC, PRIMARY
from monitor.store.records import Notice

NOC_FIRST, CONTACTS, OTHERS = 0, 1, 2


def rank(notice: Notice) -> int:
    """NOC_FIRST: the NOC's alerts (a deadline at risk, the monitor blind); CONTACTS: an
    incident's notice to its designated contacts (the one the 30-minute deadline counts);
    OTHERS: escalation groups and the rest."""
    if notice.group == NOC or (notice.incident_id is None and notice.group is None):
        return NOC_FIRST
    return CONTACTS if notice.group == PRIMARY else OTHERS


class Slots:
    """At most ``n`` holders at once; waiters go in by rank, then in the order they came."""

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def held(self, rank: int) -> AsyncIterator[None]:
        await self._acquire(rank)
        try:
            yield
        finally:
            self._release()

    async def pause(self, rank: int, seconds: float) -> None:
        """Wait ``seconds`` without a place (another delivery takes it), then take one
        again at ``rank``: for a delivery's wait between two tries (inside :meth:`held`)."""
        self._release()
        try:
            await asyncio.sleep(seconds)
            await self._acquire(rank)
        except asyncio.CancelledError:
            self._free -= 1  # a place taken back at once: held() gives it up as it ends
            raise

    async def _acquire(self, rank: int) -> None:
        """A place, or CancelledError holding none."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (rank, next(self._order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a place as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        if self._free < 0:  # one more holder than places (taken back at a cancel)
            self._free += 1
            return
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
