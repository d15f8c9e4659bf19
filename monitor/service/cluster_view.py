"""What ``GET /api/cluster`` and ``slawatch status`` show of the NOC hosts (issue 13).

A running node answers from what its lease loop last read (the lease, every node's last
word), aged by this host's boot-time clock since the read, so the answer comes at once even
while the journal does not (a node cut from the database shows how old its view is:
``as_of_s``). Offline, the CLI reads the journal itself. Without ``cluster:`` the answer
says so: one node, no lease.
"""

from __future__ import annotations

from typing import Any

from monitor.core.plan import ClusterPlan
from monitor.service.cluster import Cluster
from monitor.store.nodes import NodeSeen
from monitor.store.records import Lease

SINGLE: dict[str, Any] = {
    "mode": "single",
    "node": None,
    "role": "single",
    "leader": None,
    "epoch": None,
    "lease_left_s": None,
    "lease_s": None,
    "renew_s": None,
    "as_of_s": 0.0,
    "nodes": [],
}
"""The answer of a daemon without ``cluster:`` (the only NOC host: it always sends)."""


def live(plan: ClusterPlan, cluster: Cluster) -> dict[str, Any]:
    """A running node's view: its role now, the lease and the nodes as last read."""
    now = cluster.now()
    role = "leader" if cluster.may_send() else "standby"
    lease, lease_age = (None, 0.0) if cluster.lease is None else (
        cluster.lease[0], now - cluster.lease[1]
    )  # fmt: skip
    roster, roster_age = ((), 0.0) if cluster.roster is None else (
        cluster.roster[0], now - cluster.roster[1]
    )  # fmt: skip
    return _view(plan, role, lease, lease_age, roster, roster_age)


def journal(plan: ClusterPlan, lease: Lease, roster: tuple[NodeSeen, ...]) -> dict[str, Any]:
    """The journal's view, read just now by a command with no daemon to ask."""
    return _view(plan, "offline", lease, 0.0, roster, 0.0)


def _view(
    plan: ClusterPlan,
    role: str,
    lease: Lease | None,
    lease_age: float,
    roster: tuple[NodeSeen, ...],
    roster_age: float,
) -> dict[str, Any]:
    left = None if lease is None else lease.left.total_seconds() - lease_age
    live_lease = lease is not None and lease.live and left is not None and left > 0
    nodes = []
    for n in roster:
        age = (n.now - n.seen_at).total_seconds() + roster_age
        fresh = (n.fresh_until - n.now).total_seconds() > roster_age
        nodes.append({
            "name": n.name,
            "last_seen": n.seen_at.isoformat(),
            "age_s": round(max(age, 0.0), 3),
            "freshness": "fresh" if fresh else "stale",
            "self": n.name == plan.node,
        })  # fmt: skip
    return {
        "mode": "cluster",
        "node": plan.node,
        "role": role,
        "leader": lease.holder if live_lease and lease is not None else None,
        "epoch": None if lease is None else lease.epoch,
        "lease_left_s": round(left, 3) if live_lease and left is not None else None,
        "lease_s": plan.lease_s,
        "renew_s": plan.renew_s,
        "as_of_s": round(max(lease_age, roster_age), 3),
        "nodes": nodes,
    }
