"""How many notices are delivered at once, and which goes first when they must wait.

In a region gone dark a few thousand notices wait for a relay that takes a few a second.
Taken first come, first served, the designated contacts of incidents not yet told waited
behind escalation groups, the NOC's warnings and other languages' copies: a mass-outage
attack saw 30 of 1,000 incidents told after their 30-minute deadline, with the relay back
for the last 20 minutes. So a delivery waits by rank (:func:`rank`), then in arrival order
(the order stored: the earliest detected first). A delivery keeps its place through its
backoff between two tries: giving it up let every waiting notice try the relay at once, whose
few connections then went to whichever came first, not to the oldest (a bench measured 117
deadlines missed so, against 30).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

from monitor.core.deadlines import NOC, PRIMARY
from monitor.store.records import Notice

CONTACTS, NOC_NEXT, OTHERS = 0, 1, 2


def rank(notice: Notice) -> int:
    """CONTACTS: an incident's notice to its designated contacts (the one the 30-minute
    deadline counts); NOC_NEXT: the NOC's alerts (a deadline at risk, the monitor blind);
    OTHERS: escalation groups and the rest. The NOC's alerts do not go first: in a region
    gone dark they are hundreds, to one mailbox, and took the relay's time from the very
    notices they warned about (a bench measured 137 deadlines missed with them first)."""
    if notice.group == PRIMARY:
        return CONTACTS
    if notice.group == NOC or (notice.incident_id is None and notice.group is None):
        return NOC_NEXT
    return OTHERS


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
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
