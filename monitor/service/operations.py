"""What operators change: maintenance windows and exclusions (and their withdrawal), checked,
journalled, then told to the supervisor. The running daemon and the offline CLI both change
the record through here.

Each change is checked in full before anything is written (an exclusion of an incident of a
circuit no longer configured is refused, not written and then refused), written to the journal
directly (an operator waits for the answer: if the journal refuses, they hear it at once), and
only then handed to the supervisor, so what it acts on is on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monitor.core.errors import InputError, NotFoundError
from monitor.core.inputs import Excluded, ExclusionWithdrawn, Input, WindowAdded, WindowRemoved
from monitor.core.model import Announced, Withdrawal
from monitor.core.plan import Plan
from monitor.core.tracker import Incident
from monitor.core.windows import announce
from monitor.store.aio import AsyncStore
from monitor.store.base import Store


class Operations:
    """Operator actions over ``store``, told to the supervisor through ``feed``; ``plan``
    gives the circuits in force and ``wall`` the time (aware UTC)."""

    def __init__(
        self,
        store: AsyncStore[Store],
        *,
        plan: Callable[[], Plan],
        feed: Callable[[Input], None],
        wall: Callable[[], datetime],
    ) -> None:
        self._store, self._plan, self._feed, self._wall = store, plan, feed, wall

    def known(self, circuit: str) -> None:
        """InputError unless ``circuit`` is configured."""
        ids = [c.id for c in self._plan().circuits]
        if circuit not in ids:
            raise InputError(f"unknown circuit {circuit!r}; known: {', '.join(ids)}", "circuit")

    async def add_window(
        self,
        circuit: str,
        start: datetime,
        end: datetime,
        *,
        note: str = "",
        source: str = "api",
        announced_at: datetime | None = None,
        by: str = "",
    ) -> Announced:
        """Record an announced suspension; counted durations change retroactively."""
        self.known(circuit)
        now = self._wall()
        window = announce(start, end, note=note, now=now, announced_at=announced_at)
        stored = await self._store.run(lambda s: s.add_window(circuit, window, source, now, by))
        self._feed(WindowAdded(window=stored))
        return stored

    async def remove_window(self, window_id: int) -> Announced:
        """Withdraw an announced window (InputError if none is in force with that id)."""
        now = self._wall()
        removed = await self._store.run(lambda s: s.remove_window(window_id, now))
        self._feed(WindowRemoved(id=window_id))
        return removed

    async def exclude(self, incident_id: int, reason: str) -> Incident:
        """Exclude an incident (Article 8 §2): it earns no credit."""
        if not reason.strip():
            raise InputError(
                "an exclusion needs a reason (customer-caused, not attributable...)", "reason"
            )
        await self._configured(incident_id)
        now = self._wall()
        excluded = await self._store.run(lambda s: s.exclude(incident_id, reason, now))
        self._feed(Excluded(incident=excluded))
        return excluded

    async def withdraw_exclusion(self, incident_id: int, reason: str) -> Withdrawal:
        """Withdraw an incident's exclusion: it earns its credits again. Kept as a fact of
        its own beside the incident (the exclusion withdrawn, why, when)."""
        if not reason.strip():
            raise InputError("a withdrawal needs a reason (why the exclusion was wrong)", "reason")
        await self._configured(incident_id)
        now = self._wall()
        incident, done = await self._store.run(
            lambda s: s.withdraw_exclusion(incident_id, reason, now)
        )
        self._feed(ExclusionWithdrawn(incident=incident))
        return done

    async def _configured(self, incident_id: int) -> None:
        """NotFoundError unless the incident exists and its circuit is configured (the API
        shows no other: 404, as its GET)."""
        found = await self._store.run(lambda s: s.incident(incident_id))
        if found is None:
            raise NotFoundError(f"no incident {incident_id}", "id")
        try:
            self.known(found.circuit)
        except InputError as exc:
            raise NotFoundError(f"no incident {incident_id} of a configured circuit ({exc})",
                                "id") from None  # fmt: skip
