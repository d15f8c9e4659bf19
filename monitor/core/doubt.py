"""Outages that wait for the control targets (tracker.py; SLA.md §6.5).

Blindness is backdated like a path's ``down``, to the first failure of the control target's
run. So while a target's latest results fail, too few yet to call it down, whether the
monitor sees is not known: an outage confirmed then is an :class:`Episode` that waits, with
the targets in doubt at its detection and the start of each one's failing run. It is decided
on those targets only: if one of them goes down from that very run, the monitor was blind at
the detection (the outage opens when sight returns, if its paths are still down); once each
of them has answered instead, the monitor saw, and the outage opens with its own start and
detection, whatever other targets do later (if one is down by then, the customer notices
wait for sight as for any open incident). A path that comes back while an episode waits ends
it (it opens and closes at once when decided); the paths going down again make a new one,
behind it.

Each change of an episode is journalled (an ``OutageWaiting`` fact), so a restart resumes it
(``Doubting.restore_waiting``), and a circuit leaving the configuration opens it first
(``Doubting.unwait``). With two NOC hosts the leader journals its episodes (a leader's fact,
fenced by its lease epoch), and a new leader resumes them as a restart does, with their own
start and detection: a leader that died during the wait lost the outage before (its path back
before the takeover, 30 s later: nothing left to open), or its detection (opened at the
takeover). Its own control targets decide: another host's targets in doubt are not watched
from here, so such an episode counts as seen, as if they had left the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.core.events import OutageWaiting
from monitor.core.model import PathState
from monitor.core.paths import Hysteresis


@dataclass(slots=True, kw_only=True)
class Episode:
    """One outage of ``circuit`` waiting: ``doubt`` maps each control target in doubt at
    ``detected`` to the start of its failing run then; ``end`` is set when a path came back
    meanwhile."""

    circuit: str
    start: datetime
    detected: datetime
    single: bool
    doubt: dict[str, datetime]
    end: datetime | None = None
    seen: bool | None = None
    """Decided (whether the monitor saw at the detection), kept until those before it are."""

    def fact(self) -> OutageWaiting:
        """The episode as it stands, to journal."""
        return OutageWaiting(
            circuit=self.circuit, start=self.start, detected=self.detected, single=self.single,
            doubt=tuple(sorted(self.doubt.items())), end=self.end, seen=self.seen,
        )  # fmt: skip

    @classmethod
    def of(cls, fact: OutageWaiting) -> Episode:
        """The episode a journalled fact describes."""
        return cls(
            circuit=fact.circuit, start=fact.start, detected=fact.detected, single=fact.single,
            doubt=dict(fact.doubt), end=fact.end, seen=fact.seen,
        )  # fmt: skip


def in_doubt(controls: Mapping[str, Hysteresis]) -> dict[str, datetime]:
    """The control targets whose latest results fail, too few yet to call them down: each
    with the start of its failing run."""
    return {
        name: h.run_start
        for name, h in controls.items()
        if h.run_ok is False and h.state is not PathState.DOWN and h.run_start is not None
    }


def verdict(e: Episode, controls: Mapping[str, Hysteresis]) -> bool | None:
    """Whether the monitor saw at ``e``'s detection: False if a target in doubt then has gone
    down from that run, True once each has answered (or left the configuration), None while
    one still fails undecided."""
    waiting = False
    for name, run_start in e.doubt.items():
        h = controls.get(name)
        if h is None:
            continue
        if h.state is PathState.DOWN and h.since == run_start:
            return False
        if h.run_ok is False and h.run_start == run_start:
            waiting = True
    return None if waiting else True


class Waiting:
    """The episodes of each circuit, oldest first."""

    def __init__(self) -> None:
        self._by: dict[str, list[Episode]] = {}

    def __bool__(self) -> bool:
        return bool(self._by)

    def holds(self, circuit: str) -> bool:
        return circuit in self._by

    def waits(self, circuit: str) -> bool:
        """Whether an outage of ``circuit`` waits with no path back yet."""
        mine = self._by.get(circuit)
        return mine is not None and mine[-1].end is None

    def add(self, episode: Episode) -> bool:
        """A new outage confirmed; ignored (False) while the circuit's last one waits
        unended (the same outage, confirmed again)."""
        mine = self._by.setdefault(episode.circuit, [])
        if mine and mine[-1].end is None:
            return False
        mine.append(episode)
        return True

    def resume(self, episode: Episode) -> None:
        """An episode read back from the journal, behind the circuit's others."""
        self._by.setdefault(episode.circuit, []).append(episode)

    def ended(self, circuit: str, at: datetime) -> Episode | None:
        """A path of ``circuit`` came back at ``at`` (its up_since): the episode it ends,
        if its last one had not ended yet."""
        last = self._by[circuit][-1]
        if last.end is not None:
            return None
        last.end = at
        return last

    def take(self, circuit: str) -> list[Episode]:
        """Every episode of ``circuit``, taken out (it leaves the configuration)."""
        return self._by.pop(circuit, [])

    def decide(self, controls: Mapping[str, Hysteresis]) -> list[Episode]:
        """Take the verdict of each episode still undecided, while its targets' runs are
        what they were (one undecided holds back those behind it: :meth:`released`); the
        episodes decided now."""
        now: list[Episode] = []
        for mine in self._by.values():
            for e in mine:
                if e.seen is None:
                    e.seen = verdict(e, controls)
                    now += [] if e.seen is None else [e]
        return now

    def released(self) -> Iterator[Episode]:
        """Each decided episode, taken out in order per circuit: one undecided holds back
        those behind it."""
        for circuit in list(self._by):
            mine = self._by[circuit]
            while mine and mine[0].seen is not None:
                yield mine.pop(0)
            if not mine:
                del self._by[circuit]
