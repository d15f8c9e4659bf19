"""Each NOC host's own view of an incident (two NOC hosts, README "Two NOC hosts"): when it
saw every path of the circuit down, from the path changes it journalled under its name. The
incident's interval is the intersection of the live nodes' views; these are the views
themselves, kept as evidence (core/vantage.py :func:`outage_seen` does the arithmetic).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.model import PathState
from monitor.core.tracker import Incident
from monitor.core.vantage import Change, outage_seen
from monitor.store.db import Database
from monitor.store.times import at_db, to_db

MARGIN = timedelta(hours=1)
"""How far before an incident's start and after its end a node's own view is
looked for: a node cut off from the paths saw the outage begin or end that much apart."""

_LAST_BEFORE = (
    "SELECT node, router, demarc, state, since FROM (SELECT node, router, demarc, state, since, "
    "row_number() OVER (PARTITION BY node, router, demarc ORDER BY since DESC, id DESC) AS n "
    "FROM path_changes WHERE circuit = ? AND since < ?) AS last WHERE n = 1"
)
_WITHIN = (
    "SELECT node, router, demarc, state, since FROM path_changes "
    "WHERE circuit = ? AND since BETWEEN ? AND ? ORDER BY since, id"
)


def node_views(
    db: Database, incident: Incident, now: datetime, paths: int
) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """Per node (by name; "" for a single NOC host), the spans in which it saw all ``paths``
    of ``incident``'s circuit down that overlap the incident (aware UTC; None: still down at
    its last change). ``now``: aware UTC, the end of an open incident."""
    start, end = incident.start, incident.end or now
    lo, hi = to_db(start - MARGIN), to_db(end + MARGIN)
    by_node: dict[str, list[Change]] = {}
    for query, args in (
        (_LAST_BEFORE, (incident.circuit, lo)),
        (_WITHIN, (incident.circuit, lo, hi)),
    ):
        for node, router, demarc, state, since in db.query(query, args):
            by_node.setdefault(node, []).append(
                (f"{router}/{demarc}", PathState(state), at_db(since))
            )
    return {
        node: outage_seen(changes, paths, start, end) for node, changes in sorted(by_node.items())
    }
