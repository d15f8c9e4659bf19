"""Two vantage points: what the other NOC hosts see, and whether they agree (issue 13).

Every node probes every path and keeps its own path states (its own hysteresis). A circuit's
outage is what every *live* node saw: it opens when all live nodes see every path down, and
its interval is the intersection of theirs (it starts when the last node's last path began to
fail, and ends when the first node's first path began to answer). A node is live while its
results are fresh (the journal's clock says so, from the node's own heartbeat).

One node seeing every path down while another live node sees a path up is a *disagreement*:
no customer is told (one of the two is cut off, and which one is the NOC's question); the NOC
is, with both views. With no other live node, this node decides alone, and the incident says
so (``single_vantage``).

Pure: peers' states come in as values; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

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


class Vantage:
    """The other nodes' path states and liveness, as the journal last showed them."""

    def __init__(self, me: str) -> None:
        self.me = me
        self._paths: dict[str, dict[PathKey, tuple[PathState, datetime | None]]] = {}
        self._live: set[str] = set()

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
            return Verdict(alone=False, agree=True, start=max(downs, default=None))
        return Verdict(alone=False, agree=False, up_since=min(ups, default=None))

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
