"""Re-probe bursts asked for by traps, at most one at a time per target.

A trap asks for a burst of re-probes of the paths it names (snmp_watch.py). Traps can come by
the thousand a second (a flapping line card, a forwarding loop, a spoofer who knows the
community): a burst each would be thousands of SNMP polls a second against the router, whose
agent (or its control plane's rate limit) then stops answering, so that every path SNMP
decides goes down with no link down at all, and thousands of ICMP rounds a second besides.

So a target (a path, or a router's agent) has at most one burst in flight. A trap that names
it while its burst runs is not dropped: it earns the target one more burst, started when the
running one ends (any number of such traps earn that one burst). A flood therefore costs each
target back-to-back bursts, and a cut that happens mid-flood is still confirmed by a burst
that began after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Hashable, Iterable
from typing import Any

from monitor.service import tasks

log = logging.getLogger("slawatch.snmp")

Launch = Callable[[list[Any]], Coroutine[Any, Any, None]]
"""Starts one burst for the targets given (their keys, in the order first asked)."""


class Bursts:
    """At most one burst in flight per key, and at most one more owed; see the module
    docstring. ``launch`` runs a burst for a list of keys."""

    def __init__(self, launch: Launch) -> None:
        self._launch = launch
        self._running: set[Hashable] = set()
        self._owed: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.started = 0
        """Bursts started so far (for tests and the log)."""

    def ask(self, keys: Iterable[Hashable]) -> None:
        """A trap named ``keys``: a burst now for those idle, one owed for those busy."""
        wanted = list(dict.fromkeys(keys))
        self._owed.update(k for k in wanted if k in self._running)
        idle = [k for k in wanted if k not in self._running]
        if idle and not self._closed:
            self._start(idle)

    def _start(self, keys: list[Hashable]) -> None:
        self._running.update(keys)
        self.started += 1
        task = asyncio.create_task(self._launch(keys))
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._ended(keys, t))

    def _ended(self, keys: list[Hashable], task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._running.difference_update(keys)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("a trap's re-probe burst failed", exc_info=exc)
        owed = [k for k in keys if k in self._owed]
        self._owed.difference_update(owed)
        if owed and not self._closed:
            self._start(owed)

    async def close(self) -> None:
        """Cancel the bursts in flight; none starts after this."""
        self._closed = True
        await tasks.stop(list(self._tasks))
