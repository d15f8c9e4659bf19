"""Hysteresis: consecutive probe results become a path state (SLA.md §6.1).

A path starts ``unknown``. ``fail_after`` consecutive failures make it ``down``, backdated to
the first failure of the run; ``recover_after`` consecutive successes make it ``up``, backdated
to the first success of the run. A shorter run changes nothing. The same machine serves
control targets (§6.5). A run already longer than a threshold lowered by a reload completes
with its next result (the run is compared with ``>=``, not ``==``), backdated as ever.

This is the hot path of the whole daemon (every probe result passes here), so ``observe`` is
written for speed: a few attribute reads, no allocation unless the state changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.errors import InputError
from monitor.core.model import PathState


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A state change: ``since`` is backdated to the run's first result, ``at`` is when it
    was confirmed (the result that completed the run). Both aware, UTC."""

    state: PathState
    since: datetime
    at: datetime


class Hysteresis:
    """Mutable per-path state machine; feed it results in time order with ``observe``."""

    __slots__ = (
        "fail_after",
        "last_at",
        "recover_after",
        "run_len",
        "run_ok",
        "run_start",
        "since",
        "state",
    )

    def __init__(self, *, fail_after: int, recover_after: int) -> None:
        if fail_after < 1 or recover_after < 1:
            raise InputError("fail_after and recover_after must be at least 1")
        self.fail_after = fail_after
        self.recover_after = recover_after
        self.state = PathState.UNKNOWN
        self.since: datetime | None = None
        self.run_ok: bool | None = None
        self.run_len = 0
        self.run_start: datetime | None = None
        self.last_at: datetime | None = None

    def observe(self, at: datetime, ok: bool) -> Change | None:
        """Take one probe result at ``at``; return the Change it completes, if any.

        Results must come in non-decreasing time order per path; an older one raises
        InputError (it would make backdated times lie).
        """
        last = self.last_at
        if last is not None and at < last:
            raise InputError(f"probe result at {at.isoformat()} is older than {last.isoformat()}")
        self.last_at = at
        if ok is self.run_ok:
            self.run_len += 1
        else:
            self.run_ok = ok
            self.run_len = 1
            self.run_start = at
        if ok:
            if self.run_len >= self.recover_after and self.state is not PathState.UP:
                return self._change(PathState.UP, at)
        elif self.run_len >= self.fail_after and self.state is not PathState.DOWN:
            return self._change(PathState.DOWN, at)
        return None

    def _change(self, state: PathState, at: datetime) -> Change:
        assert self.run_start is not None
        self.state = state
        self.since = self.run_start
        return Change(state=state, since=self.run_start, at=at)

    def restore(self, state: PathState, since: datetime | None) -> None:
        """Resume a state recorded before a restart; the current run starts afresh."""
        self.state = state
        self.since = since
        self.run_ok = None
        self.run_len = 0
        self.run_start = None
