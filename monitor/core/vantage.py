"""Two vantage points: what the other NOC hosts see, and whether they agree (issue 13).

Every node probes every path and keeps its own path states (its own hysteresis). A circuit's
outage is what every *live* node saw: it opens when all live nodes see every path down, and
its interval is the intersection of theirs (it starts when the last node's last path began to
fail, and ends when the first node's first path began to answer). A node is live while its
results are fresh (the journal's clock says so, from the node's own heartbeat).

One live node seeing every path down while another live node sees a path up is a
*disagreement*: no customer is told (one of the two is cut off, and which one is the NOC's
question); the NOC is, with both views, whichever of the two is cut off (the leader or the
standby). Two nodes see one real outage up to a probe interval apart, and each reads the
other's view up to a second late, so a split becomes a disagreement only once it has lasted
``agree_within`` (``ClusterPlan.agree_s``): a real outage seen by both is one incident and no
alert. With no other live node, this node decides alone, and the incident says so
(``single_vantage``).

Pure: peers' states come in as values; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from monitor.core.model import PathKey, PathState


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What the other live nodes say of a circuit's paths. ``alone``: there are none.
    ``agree``: each sees every path down, the last of them since ``start``. Otherwise they
    disagree, and ``up_since`` is the earliest time a live peer's path began to answer."""

    alone: bool
    agree: bool
    start: datetime | None = None
    up_since: datetime | None = None
    some_down: bool = False
    """Some live peer sees every path down."""


class Call(Enum):
    """What :meth:`Vantage.judge` makes of a circuit: nothing to do, an outage every live node
    sees, or a disagreement to tell the NOC (once per episode)."""

    QUIET = "quiet"
    OUTAGE = "outage"
    DISAGREE = "disagree"


class Vantage:
    """The other nodes' path states and liveness, as the journal last showed them."""

    def __init__(self, me: str, *, agree_within: timedelta = timedelta(0)) -> None:
        self.me = me
        self.agree_within = agree_within
        self._paths: dict[str, dict[PathKey, tuple[PathState, datetime | None]]] = {}
        self._live: set[str] = set()
        self._split: dict[str, datetime] = {}
        """Circuits some live node sees down and another not, since when."""
        self._told: set[str] = set()
        """Circuits whose split was told (one alert per episode)."""

    def seen(self, node: str, path: PathKey, state: PathState, since: datetime | None) -> None:
        """A peer's path changed (or is first heard of)."""
        if node != self.me:
            self._paths.setdefault(node, {})[path] = (state, since)

    def set_live(self, nodes: Iterable[str]) -> bool:
        """The peers now live; True when that changed."""
        live = {n for n in nodes if n != self.me}
        changed, self._live = live != self._live, live
        return changed

    @property
    def live(self) -> frozenset[str]:
        return frozenset(self._live)

    def verdict(self, paths: Iterable[PathKey]) -> Verdict:
        """What the live peers say of these paths (a circuit's)."""
        if not self._live:
            return Verdict(alone=True, agree=True)
        keys = list(paths)
        downs: list[datetime] = []
        ups: list[datetime] = []
        for node in self._live:
            view = self._paths.get(node, {})
            for key in keys:
                state, since = view.get(key, (PathState.UNKNOWN, None))
                if state is PathState.DOWN and since is not None:
                    downs.append(since)
                elif state is PathState.UP and since is not None:
                    ups.append(since)
        if len(downs) == len(keys) * len(self._live):
            return Verdict(alone=False, agree=True, start=max(downs, default=None), some_down=True)
        some_down = any(
            all(self._paths.get(n, {}).get(k, (PathState.UNKNOWN,))[0] is PathState.DOWN
                for k in keys)
            for n in self._live
        )  # fmt: skip
        return Verdict(alone=False, agree=False, up_since=min(ups, default=None),
                       some_down=some_down)  # fmt: skip

    def judge(
        self, circuit: str, paths: Iterable[PathKey], own_down: bool, at: datetime
    ) -> tuple[Call, Verdict]:
        """What this node (seeing every path down or not: ``own_down``) and the live peers
        say of ``circuit`` at ``at``; see the module docstring."""
        verdict = self.verdict(paths)
        if own_down and verdict.agree:
            self._split.pop(circuit, None)
            self._told.discard(circuit)
            return Call.OUTAGE, verdict
        if not own_down and not verdict.some_down:
            self._split.pop(circuit, None)
            self._told.discard(circuit)
            return Call.QUIET, verdict
        since = self._split.setdefault(circuit, at)
        if at - since >= self.agree_within and circuit not in self._told:
            self._told.add(circuit)
            return Call.DISAGREE, verdict
        return Call.QUIET, verdict

    @property
    def splits(self) -> frozenset[str]:
        """Circuits split now, told or not (to judge again as time passes)."""
        return frozenset(self._split)

    def views(
        self, paths: Iterable[PathKey]
    ) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
        """Each live peer's states of these paths, as (node, ((path name, state), ...))."""
        keys = list(paths)
        unknown = (PathState.UNKNOWN, None)
        return tuple(
            (
                node,
                tuple((k.name, self._paths.get(node, {}).get(k, unknown)[0].value) for k in keys),
            )
            for node in sorted(self._live)
        )


Change = tuple[str, PathState, datetime]
"""A path change as one node saw it: (path name, new state, since: aware UTC)."""


def outage_seen(
    changes: Iterable[Change], paths: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime | None]]:
    """When one node saw every one of a circuit's ``paths`` down, as spans that overlap
    ``start``..``end`` (an incident's interval, aware UTC), whole: that node's own view of
    the outage, kept beside the incident's (the intersection of the live nodes' views). A
    span still open after the last change ends in None. ``changes`` in ``since`` order, each
    path's latest change before the window first; a path not named is not down."""
    states: dict[str, PathState] = {}
    seen: list[tuple[datetime, datetime | None]] = []
    down_since: datetime | None = None
    for name, state, since in changes:
        states[name] = state
        all_down = len(states) >= paths and all(s is PathState.DOWN for s in states.values())
        if all_down and down_since is None:
            down_since = since
        elif not all_down and down_since is not None:
            seen.append((down_since, since))
            down_since = None
    if down_since is not None:
        seen.append((down_since, None))
    return [(lo, hi) for lo, hi in seen if lo < end and (hi is None or hi > start)]
