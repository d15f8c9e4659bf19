"""Two NOC hosts: the leader lease loop, and the other host's news for the supervisor.

Every ``renew_s`` the node renews (or tries to take) the lease, on the journal's clock
(store/lease.py has the rules). It may send notices until ``lease_s - 2 renew_s`` after its
last successful renewal *began*, on this host's boot-time clock (which counts through a
suspend and a SIGSTOP alike): a leader paused longer wakes up past that point and sends
nothing, and the database refuses its stale claims anyway (fencing). A standby that saw
when the lease will lapse tries again right then, so it takes over within ``lease_s`` (and a
few milliseconds) of the leader's last renewal. Every ``news_s`` (1 s) the node also says it
is alive, while its results flow, for ``ClusterPlan.alive_s`` (three probe intervals and two
news periods, so it never blinks stale between two words), and reads the other nodes'
liveness and path changes, which it hands to the supervisor; a leader reads too the relays'
acceptances of notices about the incidents it still waits to see notified (closed ones whose
notification breach it counted included: ``Supervisor.awaited``), and hands them over as any
relay's answer (:class:`Delivered`: the live rule decides). They are another
node's news: a leader that lost its lease between a relay's 250 and its write-down writes the
delivery down whenever its link lets it, and its notified fact is refused (a leader's fact).
Landing before this node resumed from the journal, the delivery is taken at the resume
(core/restore.py); landing after, before or after this node's claim of the row, it is taken
here, within ``news_s``, even after this node counted the incident's breach (the write-down
disproves it; before, only the next start or lead took it).

Leadership changes are the daemon's to carry out (``on_lead``/``on_follow``): the new leader
resumes from the journal and claims what the old one left in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from monitor.core.errors import JournalError
from monitor.core.inputs import Delivered, PeerPath, Peers
from monitor.core.plan import ClusterPlan
from monitor.service.ratelimit import RateLimited
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.store.nodes import NodeSeen, PeerNews
from monitor.store.records import Lease

log = logging.getLogger("slawatch.cluster")

LAPSE_MARGIN_S = 0.05
"""A standby tries to take the lease this long after the lease it saw should have lapsed
(on the journal's clock, as the standby read it), seconds."""


def boottime() -> float:
    """Seconds on the boot-time clock: monotonic, and counting while the host is suspended."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def peers(news: PeerNews) -> Peers:
    return Peers(
        live=news.live,
        paths=tuple(PeerPath(node=c.node, path=c.path, state=c.state, since=c.since)
                    for c in news.changes),
    )  # fmt: skip


class Cluster:
    """The lease and the news; see the module docstring. ``fresh`` says whether this node's
    own results are flowing (only then is it alive to the others); ``waiting``, the incidents
    this node, leading, still waits to see notified."""

    def __init__(
        self,
        plan: ClusterPlan,
        store: AsyncStore[Store],
        *,
        fresh: Callable[[], bool],
        feed: Callable[[Peers | Delivered], None],
        on_lead: Callable[[int], Awaitable[None]],
        on_follow: Callable[[str], None],
        waiting: Callable[[], Sequence[int]] = tuple,
        clock: Callable[[], float] = boottime,
    ) -> None:
        self.plan, self._store, self._fresh, self._feed = plan, store, fresh, feed
        self._waiting = waiting
        self._on_lead, self._on_follow, self._clock = on_lead, on_follow, clock
        self.instance = uuid.uuid4().hex
        self.epoch: int | None = None
        """The lease epoch while this node leads; None while it follows."""
        self.send_until = 0.0
        """Boot-time seconds until which this node may send."""
        self.holder: str | None = None
        self.expires_in: float | None = None
        self.last_news: Peers | None = None
        self.lease: tuple[Lease, float] | None = None
        """The lease as last read, and when (boot-time seconds): for operators."""
        self.roster: tuple[tuple[NodeSeen, ...], float] | None = None
        """Every node as last read, and when (boot-time seconds): for operators."""
        self._last_id: int | None = None
        self._complain = RateLimited(log, every_s=30.0)

    async def claim_name(self) -> None:
        """At start: JournalError if another live process uses this node's name."""
        await self._store.run(lambda s: s.nodes.alive(self.instance, 0.0))

    def now(self) -> float:
        """This host's boot-time clock, as the lease loop reads it (seconds)."""
        return self._clock()

    def may_send(self) -> bool:
        """Whether this node may start sending a notice now."""
        return self.epoch is not None and self._clock() < self.send_until

    def left(self) -> float:
        """Seconds this node may go on sending: a delivery's tries stop, and none outlives
        it (the standby takes over 2·renew_s later: store/lease.py)."""
        return max(self.send_until - self._clock(), 0.0) if self.epoch is not None else 0.0

    async def run(self) -> None:
        """Renew the lease every ``renew_s`` (a standby tries again right when the lease it
        saw lapses) and read the news every ``news_s``, until cancelled."""
        next_renewal = next_news = self._clock()
        while True:
            if self._clock() >= next_renewal:
                next_renewal = self._clock() + self.plan.renew_s
                await self._renew()
                if self.epoch is None and self.expires_in is not None:
                    lapse = self._clock() + self.expires_in + LAPSE_MARGIN_S
                    next_renewal = min(next_renewal, lapse)
            if self._clock() >= next_news:
                next_news = self._clock() + self.plan.news_s
                await self._news()
            if self.epoch is not None and self._clock() >= self.send_until:
                self._follow("the lease could not be renewed in time")
            wake = min(next_renewal, next_news)
            if self.epoch is not None:
                wake = min(wake, self.send_until)
            await asyncio.sleep(max(wake - self._clock(), 0.0))

    async def _renew(self) -> None:
        began = self._clock()
        node, lease_s = self.plan.node, self.plan.lease_s
        try:
            lease = await self._store.run(lambda s: s.lease.acquire_or_renew(node, lease_s))
        except JournalError as exc:  # keep the last deadline; the standby takes over after it
            self._complain.error("cannot renew the leader lease: %s", exc)
            return
        if lease is None:
            await self._current()
            if self.epoch is not None:
                self._follow(f"the lease is held by {self.holder}")
            return
        self._saw(lease)
        self.send_until = began + self.plan.send_for_s
        if self.epoch != lease.epoch:
            log.warning("%s leads (lease epoch %d)", node, lease.epoch)
            self.epoch = lease.epoch
            self._last_id = None  # the whole picture again, as a new leader
            await self._on_lead(lease.epoch)

    async def _current(self) -> None:
        try:
            lease = await self._store.run(lambda s: s.lease.current())
        except JournalError:
            return
        self._saw(lease)

    def _saw(self, lease: Lease) -> None:
        self.holder, self.expires_in = lease.holder, lease.left.total_seconds()
        self.lease = (lease, self._clock())

    def _follow(self, why: str) -> None:
        log.warning("%s no longer leads: %s", self.plan.node, why)
        self.epoch = None
        self.send_until = 0.0
        self._on_follow(why)

    def fenced(self) -> None:
        """The journal refused a claim or a write under our epoch: someone else leads."""
        if self.epoch is not None:
            self._follow("the journal refused a write under our lease epoch (fenced)")

    async def _news(self) -> None:
        alive_s, last = self.plan.alive_s, self._last_id
        waiting = list(self._waiting()) if self.epoch is not None else []
        try:
            if self._fresh():
                await self._store.run(lambda s: s.nodes.alive(self.instance, alive_s))
            news, roster, told = await self._store.run(
                lambda s: (s.nodes.news(last), s.nodes.roster(), s.outbox.accepted_of(waiting))
            )
        except JournalError as exc:
            self._complain.error("cannot read the other NOC hosts' news: %s", exc)
            return
        self.roster = (roster, self._clock())
        self._last_id = news.last_id
        self.last_news = peers(news)
        self._feed(self.last_news)
        for answer in told:
            self._feed(answer)
