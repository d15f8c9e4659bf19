"""A batch of probe results through the tracker at once, with a fast path for the results
that change nothing.

At 10,000 paths probed every second nearly every result is a path that is ``up`` answering
again (or one ``down`` failing again): it only lengthens the path's current run. For such a
result :meth:`Batching.observe_batch` does inline what :meth:`Hysteresis.observe
<monitor.core.paths.Hysteresis.observe>` would (the time check, the run one longer) with no
call and no event; every other result (a run broken, a change, a path's first result, a time
older than its last, a key the tracker does not know, a control target) goes through
``observe`` or ``observe_control`` as before. The fast path is taken only where the slow one
returns nothing and changes nothing else: tests/core/test_tracker_batch.py feeds random
sequences through both and compares every event and state.

A mixin of :class:`~monitor.core.tracker.Tracker`, kept apart to keep each file small.
Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from monitor.core.errors import InputError
from monitor.core.events import Event
from monitor.core.model import PathKey, PathState
from monitor.core.tracker_resume import _Tracker

_UP, _DOWN = PathState.UP, PathState.DOWN


class Named(Protocol):
    """A control target's key (core/inputs.py ``Control``): anything not a PathKey."""

    @property
    def name(self) -> str: ...


K = TypeVar("K", bound="PathKey | Named")


class _Observing(_Tracker, Protocol):
    def observe(self, path: PathKey, at: datetime, ok: bool) -> tuple[Event, ...]: ...
    def observe_control(self, target: str, at: datetime, ok: bool) -> tuple[Event, ...]: ...


class Batching:
    """See the module docstring."""

    def observe_batch(
        self: _Observing,
        targets: Sequence[K],
        ats: Sequence[datetime],
        oks: Sequence[bool],
    ) -> tuple[list[Event], list[K]]:
        """Feed results by position: ``targets[i]`` (a path, or a control target by its
        ``name``) sent at ``ats[i]``, ``oks[i]``. Returns the events, in order, and the
        targets of the results refused (InputError: unknown, or older than the last), in
        order; the rest of the batch is taken all the same."""
        events: list[Event] = []
        refused: list[K] = []
        paths, observe, control = self._paths.get, self.observe, self.observe_control
        keys: Sequence[Any] = targets  # each narrowed by its type() below (mypy cannot)
        for key, at, ok in zip(keys, ats, oks, strict=True):
            if type(key) is PathKey:
                entry = paths(key)
                if entry is not None:
                    h = entry[0]
                    last = h.last_at
                    if (
                        ok is h.run_ok
                        and h.state is (_UP if ok else _DOWN)
                        and last is not None
                        and not at < last
                        and entry[1].first_seen is not None
                    ):  # the run goes on, the state is already the run's: nothing changes
                        h.last_at = at
                        h.run_len += 1
                        continue
            try:
                got = observe(key, at, ok) if type(key) is PathKey else control(key.name, at, ok)
            except InputError:
                refused.append(key)
                continue
            if got:
                events += got
        return events, refused
