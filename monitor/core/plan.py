"""What the configuration means to the monitor, as plain core values.

``monitor/config`` validates the YAML and projects it once into a :class:`Plan`; everything
past the configuration (the supervisor, the shell, the reports) reads the plan, never the
YAML models. A reload is a new plan; :func:`changes` says what differs between two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import Group, Policy
from monitor.core.model import PathKey
from monitor.core.tracker import CircuitSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class PathPlan:
    """One path and how it is probed: ICMP to ``address``, or its router's SNMP view."""

    key: PathKey
    address: str
    probe: str = "icmp"


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitPlan:
    """A circuit: its paths, contract terms (configured maintenance only), the designated
    contacts and escalation groups, and its probe interval in seconds."""

    id: str
    paths: tuple[PathPlan, ...]
    terms: CircuitTerms
    groups: tuple[Group, ...]
    interval_s: float = 1.0

    @property
    def contacts(self) -> tuple[str, ...]:
        """The designated fault contacts (the first group's recipients)."""
        return self.groups[0].recipients if self.groups else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPlan:
    """A control target (the NOC's own gateway, say): probed like a path, never a circuit's."""

    name: str
    address: str
    interval_s: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyPlan:
    """Who hears what: the NOC, how early it is warned of a deadline, how often contacts are
    reminded, the sender, and each address's language (``ja`` or ``en``)."""

    sender: str = "slawatch@localhost"
    noc: tuple[str, ...] = ()
    noc_lang: str = "ja"
    warn_before: timedelta = timedelta(minutes=10)
    reminder_every: timedelta | None = timedelta(hours=1)
    languages: tuple[tuple[str, str], ...] = ()

    def lang(self, address: str) -> str:
        return dict(self.languages).get(address, self.noc_lang)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterPlan:
    """Two NOC hosts (issue 13): this host's name, the leader lease and its renewal period,
    how long a node's results stay fresh (three probe intervals), and how often each node says
    it is alive and reads the others' news, all in seconds."""

    node: str
    lease_s: float = 30.0
    renew_s: float = 5.0
    fresh_s: float = 3.0
    news_s: float = 1.0

    @property
    def send_for_s(self) -> float:
        """How long after a renewal began the leader may go on sending: lease_s - 2 renew_s."""
        return self.lease_s - 2 * self.renew_s

    @property
    def alive_s(self) -> float:
        """How long a node's word that it is alive holds: its results' freshness, plus two
        periods of saying so (one may come late), so a live node never blinks stale between
        two words."""
        return self.fresh_s + 2 * self.news_s

    @property
    def agree_s(self) -> float:
        """How long one node may see a circuit down while a live peer does not before that is
        a disagreement: the two see the same outage up to a probe interval apart, and each
        reads the other's view up to ``news_s`` late, so a real outage seen by both never
        looks like one."""
        return self.fresh_s + 2 * self.news_s


STALL_MIN_S = 2.0
"""The shortest stall of the event loop recorded as a gap, in seconds (below that, a busy
loop or a slow disk write would be taken for one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The whole monitor: circuits, control targets, hysteresis, probe timeout (seconds) and
    the notification plan; ``timezone`` is the default for anything not a circuit's."""

    circuits: tuple[CircuitPlan, ...]
    controls: tuple[ControlPlan, ...] = ()
    fail_after: int = 3
    recover_after: int = 2
    timeout_s: float = 1.0
    timezone: str = "Asia/Tokyo"
    notify: NotifyPlan = NotifyPlan()
    cluster: ClusterPlan | None = None
    _by_id: dict[str, CircuitPlan] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.circuits})

    def circuit(self, circuit_id: str) -> CircuitPlan | None:
        return self._by_id.get(circuit_id)

    @property
    def stall_s(self) -> float:
        """Seconds the daemon's event loop may go without running before that is a stall,
        recorded as an unmonitored gap: twice the shortest probe interval (a probe owed in
        that time went out more than an interval late), and never under
        :data:`STALL_MIN_S`."""
        intervals = [c.interval_s for c in self.circuits] + [t.interval_s for t in self.controls]
        shortest = min(intervals, default=1.0)
        return max(STALL_MIN_S, 2 * shortest)

    def spec(self, circuit: CircuitPlan) -> CircuitSpec:
        """What the tracker needs of ``circuit``."""
        return CircuitSpec(
            id=circuit.id,
            paths=tuple(p.key for p in circuit.paths),
            fail_after=self.fail_after,
            recover_after=self.recover_after,
        )

    def policy(self, circuit: CircuitPlan) -> Policy:
        """What the deadline ledger needs of ``circuit``."""
        n = self.notify
        return Policy(
            groups=circuit.groups,
            noc=n.noc,
            warn_before=n.warn_before,
            reminder_every=n.reminder_every,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What a reload changes: circuits ``removed``, ``added``, ``changed`` (with the paths
    whose probing changed: a new address or probe kind), and the control targets' names when
    they changed (None when they did not); ``settings``: the global settings that changed, as
    "name old -> new"."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[tuple[str, tuple[PathKey, ...]], ...]
    controls: tuple[str, ...] | None
    settings: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        out = [*self.settings]
        out += [f"removed {c}" for c in self.removed] + [f"added {c}" for c in self.added]
        for cid, reset in self.changed:
            again = f" ({', '.join(p.name for p in reset)} start unknown)" if reset else ""
            out.append(f"changed {cid}{again}")
        if self.controls is not None:
            out.append(f"control targets now {', '.join(self.controls) or 'none'}")
        return out


def changes(old: Plan, new: Plan) -> Changes:
    """The difference between two plans, circuit by circuit."""
    before = {c.id: c for c in old.circuits}
    after = {c.id: c for c in new.circuits}
    changed = []
    for cid, c in after.items():
        was = before.get(cid)
        if was is None or (was == c and _hysteresis(old) == _hysteresis(new)):
            continue
        probing = {p.key: p for p in was.paths}
        changed.append((cid, tuple(p.key for p in c.paths if probing.get(p.key) not in (None, p))))
    return Changes(
        removed=tuple(c for c in before if c not in after),
        added=tuple(c for c in after if c not in before),
        changed=tuple(changed),
        controls=None if old.controls == new.controls else tuple(t.name for t in new.controls),
        settings=tuple(
            f"{name} {getattr(old, name)} -> {getattr(new, name)}"
            for name in ("fail_after", "recover_after", "timeout_s")
            if getattr(old, name) != getattr(new, name)
        ),
    )


def _hysteresis(plan: Plan) -> tuple[int, int]:
    return plan.fail_after, plan.recover_after
