"""The tracker's state as what is not this node's own probe results moves it: the journal at a
start (``restore_*``), the other NOC hosts' views (``peer_seen``, ``peers_live``, ``settle``),
and this node taking the lead (``adopt_paths``, ``own_blindness``, ``reassess``).

A mixin of :class:`~monitor.core.tracker.Tracker`, kept apart to keep each file small; what it
uses of the tracker is :class:`_Tracker`. Sans-IO like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from monitor.core.circuits import Circuit
from monitor.core.doubt import Episode, Waiting
from monitor.core.events import NO_EVENTS, BlindStarted, Event, Incident
from monitor.core.model import Interval, PathKey, PathState
from monitor.core.paths import Hysteresis
from monitor.core.vantage import Vantage


class _Tracker(Protocol):
    """What the mixins (this one, tracker_doubt.py's) use of the tracker."""

    vantage: Vantage | None
    decides: bool
    blind_intervals: list[Interval]
    _circuits: dict[str, Circuit]
    _paths: dict[PathKey, tuple[Hysteresis, Circuit]]
    _controls: dict[str, Hysteresis]
    _blind_since: datetime | None
    _next_id: int
    _waiting: Waiting

    @property
    def blind(self: _Tracker) -> bool: ...
    def _circuit(self: _Tracker, circuit_id: str) -> Circuit: ...
    def _maybe_open(
        self: _Tracker, circuit: Circuit, at: datetime, events: list[Event]
    ) -> None: ...
    def _open(
        self: _Tracker,
        circuit: Circuit,
        start: datetime,
        at: datetime,
        single: bool,
        events: list[Event],
    ) -> None: ...
    def _close(
        self: _Tracker, circuit: Circuit, up_since: datetime, events: list[Event]
    ) -> None: ...
    def _journal(self: _Tracker, episode: Episode | None, events: list[Event]) -> None: ...
    def _settle(self: _Tracker, events: list[Event]) -> None: ...
    def _amend_end(
        self: _Tracker, circuit: Circuit, up_since: datetime, events: list[Event]
    ) -> None: ...
    def _recheck(self: _Tracker, circuit: Circuit, at: datetime, events: list[Event]) -> None: ...


class Resuming:
    """See the module docstring."""

    # -- the journal, at a start ---------------------------------------------------------
    def restore_path(
        self: _Tracker, path: PathKey, state: PathState, since: datetime | None
    ) -> None:
        """Resume a path state read back from the journal."""
        self._paths[path][0].restore(state, since)

    def restore_control(
        self: _Tracker, target: str, state: PathState, since: datetime | None
    ) -> None:
        self._controls[target].restore(state, since)
        if state is PathState.DOWN and self._blind_since is None:
            self._blind_since = since

    def restore_blind(self: _Tracker, since: datetime) -> None:
        """The start of the blind spell the journal holds open, if still blind: it began when
        the first control target went down, which may have come back since."""
        if self.blind:
            self._blind_since = since

    def restore_first_seen(self: _Tracker, circuit_id: str, at: datetime) -> None:
        """Resume the time of a circuit's first probe result (no MonitoringStarted again)."""
        self._circuit(circuit_id).first_seen = at

    def first_seen(self: _Tracker, circuit_id: str) -> datetime | None:
        return self._circuit(circuit_id).first_seen

    def restore_incident(self: _Tracker, incident: Incident) -> None:
        """Resume an incident read back from the journal (open ones stay open)."""
        circuit = self._circuit(incident.circuit)
        if incident.end is None:
            circuit.open = incident
        else:
            circuit.recent.append(incident)
        self._next_id = max(self._next_id, incident.id + 1)

    def afresh_unopened(self: _Tracker) -> None:
        """After the restore: the paths of a circuit all down with no open incident and no
        outage waiting (``restore_waiting``) start afresh (unknown), so fresh results open its
        outage: its states are older than its removal from the configuration, or it was
        waiting on the control targets when a daemon that kept the wait in memory only (a
        version before it was journalled) stopped, or this is a standby's start (the leader
        resumes the wait). Not while blind: such an outage opens when sight returns,
        if still down."""
        if self.blind:
            return
        for circuit in self._circuits.values():
            if self._waiting.holds(circuit.id):
                continue
            if circuit.open is None and circuit.paths and circuit.all_down():
                for h in circuit.paths.values():
                    h.restore(PathState.UNKNOWN, None)

    # -- the other NOC hosts ----------------------------------------------------------------
    def peer_seen(
        self: _Tracker,
        node: str,
        path: PathKey,
        state: PathState,
        since: datetime | None,
        at: datetime,
    ) -> tuple[Event, ...]:
        """A peer's path state, read from the journal at ``at``: an outage this host sees
        ends when a live peer's path answers; one may open when the peers now agree."""
        if self.vantage is None or path not in self._paths:
            return NO_EVENTS
        self.vantage.seen(node, path, state, since)
        circuit = self._paths[path][1]
        events: list[Event] = []
        if node in self.vantage.live:
            self._recheck(circuit, at, events)
            if state is PathState.UP and since is not None and self.decides:
                self._amend_end(circuit, since, events)
        return tuple(events)

    def peers_live(self: _Tracker, nodes: Iterable[str], at: datetime) -> tuple[Event, ...]:
        """The peers now live (their results fresh): every circuit is looked at again."""
        if self.vantage is None or not self.vantage.set_live(nodes):
            return NO_EVENTS
        events: list[Event] = []
        for circuit in self._circuits.values():
            self._recheck(circuit, at, events)
        return tuple(events)

    def settle(self: _Tracker, at: datetime) -> tuple[Event, ...]:
        """Time passed (the peers' news came again): a split that has lasted long enough
        becomes a disagreement."""
        if self.vantage is None:
            return NO_EVENTS
        events: list[Event] = []
        for cid in self.vantage.splits:
            if cid in self._circuits:
                self._maybe_open(self._circuits[cid], at, events)
        return tuple(events)

    def reassess(self: _Tracker, at: datetime) -> tuple[Event, ...]:
        """Every circuit looked at afresh (this node just took the lead, with the journal's
        incidents and its own path states): an outage no one opened is opened, an incident
        this node sees over (a path of its own back up) is closed."""
        events: list[Event] = []
        for circuit in self._circuits.values():
            ups = [h.since for h in circuit.paths.values()
                   if h.state is PathState.UP and h.since is not None]  # fmt: skip
            if circuit.open is not None and ups:
                self._close(circuit, min(ups), events)
            elif self.vantage is not None:
                self._recheck(circuit, at, events)
            else:
                self._maybe_open(circuit, at, events)
        return tuple(events)

    def adopt_paths(self: _Tracker, other: _Tracker, spell: datetime | None = None) -> None:
        """Take ``other``'s path and control target states (hysteresis runs included) and
        first results: this node's own view, kept across a rebuild (the journal's control
        states are the old leader's, of its own control targets). ``spell``: the start of the
        blind spell the journal holds open, which goes on if this node is blind too (else a
        spell of this node's begins with :meth:`own_blindness`)."""
        for key, (h, circuit) in self._paths.items():
            theirs = other._paths.get(key)
            if theirs is None:
                continue
            _copy(theirs[0], h)
            circuit.first_seen = circuit.first_seen or theirs[1].first_seen
        for name, h in self._controls.items():
            if (mine := other._controls.get(name)) is not None:
                _copy(mine, h)
        self._blind_since = spell if spell is not None and self.blind else None

    def own_blindness(self: _Tracker, at: datetime) -> tuple[Event, ...]:
        """This node leads from ``at`` and is blind by its own control targets, with no
        blind spell open in the journal: one begins now (the old leader saw until then)."""
        if not self.blind or self._blind_since is not None:
            return NO_EVENTS
        self._blind_since = at
        return (BlindStarted(since=at, at=at),)

    def _recheck(self: _Tracker, circuit: Circuit, at: datetime, events: list[Event]) -> None:
        """The outage, open or waiting on the control targets (doubt.py), ends when a live
        peer sees a path answer; with neither, one may open."""
        assert self.vantage is not None
        waiting = circuit.open is None and self._waiting.waits(circuit.id)
        if circuit.open is None and not waiting:
            self._maybe_open(circuit, at, events)
            return
        verdict = self.vantage.verdict(circuit.paths)
        if verdict.agree or verdict.up_since is None:
            return
        if waiting:  # journalled, for a new leader to resume (doubt.py)
            self._journal(self._waiting.ended(circuit.id, verdict.up_since), events)
        else:
            self._close(circuit, verdict.up_since, events)


def _copy(source: Hysteresis, to: Hysteresis) -> None:
    for slot in Hysteresis.__slots__:
        setattr(to, slot, getattr(source, slot))
