"""What the supervisor is told: every input is a value, and comes with the time it is handled.

The shell turns the world into these (probe results, SNMP readings, relays' answers, operator
actions already written to the journal, a new configuration, the clock running) and hands
them to :meth:`Supervisor.handle <monitor.core.supervisor.Supervisor.handle>` one by one.
:class:`Resume` is what the journal gives back at a start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.deadlines import PRIMARY
from monitor.core.errors import InputError
from monitor.core.model import Announced, Interval, PathKey, PathState, ProbeResult
from monitor.core.notices import INCIDENT_KINDS, Delivery
from monitor.core.plan import Plan
from monitor.core.tracker import Incident, OutageWaiting


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """The key of a control target's results (so it cannot be taken for a path)."""

    name: str


Target = PathKey | Control


@dataclass(frozen=True, slots=True, kw_only=True)
class Probed:
    """A batch of probe results, each of a path or a control target, by position: the probe
    of ``targets[i]`` was sent at ``ats[i]`` (aware, UTC), ``oks[i]`` says whether it
    succeeded, ``rtts[i]`` in seconds (None: no RTT) and ``errors[i]`` why it failed. Each
    target's results are in time order.

    Columns, not a ProbeResult each: at 10,000 results a second, making a frozen dataclass
    per result and a pair to hold it took ~4 % of the daemon's CPU (py-spy, 10,000 paths).
    """

    targets: tuple[Target, ...]
    ats: tuple[datetime, ...]
    oks: tuple[bool, ...]
    rtts: tuple[float | None, ...]
    errors: tuple[str | None, ...]

    def __post_init__(self) -> None:
        n = len(self.targets)
        if not len(self.ats) == len(self.oks) == len(self.rtts) == len(self.errors) == n:
            raise InputError("Probed: every column must have one entry per target")

    @classmethod
    def of(cls, results: Iterable[tuple[Target, ProbeResult]]) -> Probed:
        """The batch of ``(target, result)`` pairs."""
        pairs = tuple(results)
        return cls(
            targets=tuple(k for k, _ in pairs),
            ats=tuple(r.at for _, r in pairs),
            oks=tuple(r.ok for _, r in pairs),
            rtts=tuple(r.rtt for _, r in pairs),
            errors=tuple(r.error for _, r in pairs),
        )

    def slices(self, n: int) -> Iterator[Probed]:
        """The batch as consecutive batches of at most ``n`` results, in order (so each
        target's results stay in time order across them)."""
        for i in range(0, len(self.targets), n):
            cut = slice(i, i + n)
            yield Probed(targets=self.targets[cut], ats=self.ats[cut], oks=self.oks[cut],
                         rtts=self.rtts[cut], errors=self.errors[cut])  # fmt: skip

    def rows(self) -> Iterator[tuple[Target, datetime, bool, float | None]]:
        """``(target, at, ok, rtt)`` of each result, in order."""
        return zip(self.targets, self.ats, self.oks, self.rtts, strict=True)

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpReading:
    """What a router's agent said about a path at ``at``: ``kind`` ``ifOperStatus`` or
    ``bgpPeerState``, ``ok`` True (up) / False (down) / None (no answer: ``text`` says why),
    ``value`` the MIB's number. ``kind`` ``trap`` is a notification, recorded as it came."""

    path: PathKey
    at: datetime
    kind: str
    ok: bool | None
    value: int | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpSeen:
    readings: tuple[SnmpReading, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """A relay's answers for one notice (of ``incident`` on ``circuit``, of ``kind``).
    ``group``: the notice's contact group, where known (a start reads it back from the
    outbox); a ``primary`` notice went to the contacts designated when it was stored."""

    incident: int | None
    circuit: str
    kind: str
    results: tuple[Delivery, ...]
    group: str | None = None

    def told(self, contacts: Collection[str]) -> datetime | None:
        """When this notice told the incident's customer: its first acceptance for one of
        the designated ``contacts``, or for any recipient of a ``primary`` notice (designated
        when it was sent, though the configuration changed since), if it is about an
        incident (§6.4); else None."""
        if self.incident is None or self.kind not in INCIDENT_KINDS:
            return None
        primary = self.group == PRIMARY
        times = [r.at for r in self.results
                 if r.accepted and r.at and (primary or r.recipient in contacts)]  # fmt: skip
        return min(times, default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowAdded:
    """A maintenance window announced through the API or CLI, already in the journal."""

    window: Announced


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRemoved:
    """An announced window withdrawn (its journal ``id``), already in the journal."""

    id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Excluded:
    """An incident excluded by an operator (Article 8 §2), already in the journal."""

    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionWithdrawn:
    """An incident's exclusion withdrawn by an operator, already in the journal:
    ``incident`` as it now stands (not excluded)."""

    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class Reload:
    """A new configuration (already validated)."""

    plan: Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerPath:
    """One path's state as another NOC host recorded it (its own hysteresis)."""

    node: str
    path: PathKey
    state: PathState
    since: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Peers:
    """What the journal says of the other NOC hosts: which are live (their results fresh, on
    the journal's clock) and their path changes since last asked."""

    live: tuple[str, ...]
    paths: tuple[PeerPath, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Time passed: whatever is due by now is owed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stalled:
    """The daemon ran but did not look: its event loop did not run for ``gap`` (closed, aware
    UTC: from the last moment it was known to run to the moment it ran again), as the shell's
    watchdog measured on the monotonic clock (a frozen VM, a long pause, a stuck call, a
    SIGSTOP). For evidence that is time the daemon was not running. ``stepped``: it was not
    a stall but a step of the wall clock forward (or a suspended host): wall time the daemon
    never looked at, the same for evidence."""

    gap: Interval
    stepped: bool = False
    covered: bool = False
    """Another NOC host's results were flowing when the loop ran again (the shell asked the
    journal then): nothing went unmonitored, as at a start."""

    def __post_init__(self) -> None:
        if self.gap.end is None or self.gap.end <= self.gap.start:
            raise InputError("a stall needs a gap with an end after its start", "gap")


Input = (
    Probed
    | SnmpSeen
    | Delivered
    | WindowAdded
    | WindowRemoved
    | Excluded
    | ExclusionWithdrawn
    | Reload
    | Peers
    | Tick
    | Stalled
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    """What the journal remembers: latest path and control states, open and recent incidents,
    blind intervals, unmonitored gaps (the one just found included), each circuit's first
    probe result, the announced windows and the outages still waiting on the control targets
    (``waiting``, oldest first: core/doubt.py). Paths and controls are keyed by their names.
    ``notices``: for each restored closed incident, (kind, group) of each notice the outbox
    holds -> the recipients of its rows (group None: stored before groups were), so a start
    can owe the rest. ``accepted``: the relays' acceptances of notices about incidents the
    journal holds as never notified (a leader that lost its lease, or a crash, between a
    relay's 250 and the notified fact), one per notice, so a start can record what they
    prove."""

    paths: dict[PathKey, tuple[PathState, datetime]] = field(default_factory=dict)
    controls: dict[str, tuple[PathState, datetime]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    blind: tuple[Interval, ...] = ()
    gaps: tuple[Interval, ...] = ()
    first_results: dict[str, datetime] = field(default_factory=dict)
    windows: tuple[Announced, ...] = ()
    notices: dict[int, dict[tuple[str, str | None], frozenset[str]]] = field(default_factory=dict)
    accepted: tuple[Delivered, ...] = ()
    waiting: tuple[OutageWaiting, ...] = ()
