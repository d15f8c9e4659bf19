"""The deadline ledger: which notice is owed to whom, and when (SLA.md §3, §6.4).

Theory of operation
-------------------
For every open incident the ledger knows the *notification clock*: it starts at detection
(or, if detection fell inside announced maintenance, when that window ends) and the deadline
is the clock + 30 minutes. From the clock it derives a fixed schedule:

    clock                      OPENED notice to the designated contacts ("primary")
    clock + group.after        OPENED notice to each escalation group, if still open
    clock + k * reminder       REMINDER k (k = 1, 2, ...) to the designated contacts
    deadline - warn_before     DEADLINE_AT_RISK to the NOC, if no notice accepted yet
    deadline (passed)          BREACH, if no notice accepted by then
    close                      OPENED still owed (the designated contacts', and each
                               escalation group's whose time came before the end), then
                               RECOVERED to every group that was sent OPENED

An outage that closes before its first notice went out (the journal was unwritable, the
daemon busy, a ten-minute flap, an outage that ended before the result that detected it) still
owed that notice from the clock on: ``close`` returns it with the RECOVERED. After the close,
the entry stays only to watch the deadline (warning and breach) until a notice is accepted;
once its breach is counted, its id is kept (``late``, until a notice is accepted, for a day
after the deadline at most: LATE_KEEP): another NOC host's write-down of a relay's earlier
acceptance may still come, and disprove the breach.
An outage that owes no notice at all (voided, or ended inside the maintenance window its
detection fell in: ``sla.notify_deadline`` and ``assess`` say so, and the caller tells
``close``) gets only the RECOVERED its groups' OPENED call for, and nothing more is watched.

``due(now)`` returns the actions whose time has come and marks them emitted; ``next_wakeup()``
tells the shell when to call again. Nothing here sends mail or reads a clock. Each entry's next
time is kept in a heap, so asking (as the supervisor does after every input) looks only at the
entries whose time has come, however many incidents are open.

Every action has a stable key (incident, kind, group, seq), from which the shell derives the
Message-ID. After a restart the ledger is rebuilt from the journal's open incidents and simply
emits again whatever is due; the durable outbox drops a Message-ID it already holds, so a
notice is never lost and never doubled. A closed incident's close is owed again the same way
(``resume_closed``), less what the outbox holds, if it was told OPENED: the notices of a
close that a crash cut off from the outbox, or that were held while the monitor was blind
(held.py), are not lost. Reminders already overdue collapse to the latest one, so a restart
after a long gap sends one reminder, not a burst.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.core.sla import NOTIFY_WITHIN

PRIMARY = "primary"
NOC = "noc"


LATE_KEEP = timedelta(days=1)
"""How long after its deadline a breached incident's acceptances are still read: another NOC
host's write-down lands within seconds of the relay's answer, or with its writer's next
batch; a day covers a writer held up by a full disk or a stalled journal."""


class ActionKind(StrEnum):
    OPENED = "opened"
    REMINDER = "reminder"
    RECOVERED = "recovered"
    DEADLINE_AT_RISK = "deadline-at-risk"
    BREACH = "breach"


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A contact group notified ``after`` the clock starts (``primary`` is at zero)."""

    name: str
    after: timedelta
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A circuit's notification policy; ``groups[0]`` should be the designated contacts."""

    groups: tuple[Group, ...]
    noc: tuple[str, ...] = ()
    warn_before: timedelta = timedelta(minutes=10)
    reminder_every: timedelta | None = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Something owed at ``due``. ``seq`` numbers reminders (0 otherwise)."""

    kind: ActionKind
    incident: int
    circuit: str
    group: str
    recipients: tuple[str, ...]
    due: datetime
    seq: int = 0

    @property
    def key(self) -> str:
        """Stable identity of this action: the basis of its Message-ID."""
        suffix = f".{self.seq}" if self.seq else ""
        return f"{self.circuit}.{self.incident}.{self.kind}.{self.group}{suffix}"


@dataclass(slots=True, kw_only=True)
class _Entry:
    incident: int
    circuit: str
    policy: Policy
    clock: datetime
    notified: bool = False
    emitted: set[str] = field(default_factory=set)
    last_reminder: int = 0
    closed: bool = False

    @property
    def deadline(self) -> datetime:
        return self.clock + NOTIFY_WITHIN

    def action(self, kind: ActionKind, group: Group | None, due: datetime, seq: int = 0) -> Action:
        g = group or Group(name=NOC, after=timedelta(0), recipients=self.policy.noc)
        return Action(
            kind=kind,
            incident=self.incident,
            circuit=self.circuit,
            group=g.name,
            recipients=g.recipients,
            due=due,
            seq=seq,
        )


class Ledger:
    """Notification schedule of the open incidents; see the module docstring."""

    def __init__(self) -> None:
        self._open: dict[int, _Entry] = {}
        self._when: dict[int, datetime] = {}
        """Each entry's next time (absent: nothing more scheduled)."""
        self._heap: list[tuple[datetime, int]] = []
        """(next time, incident), with stale pairs left in until they surface."""
        self._late: dict[int, datetime] = {}
        """Closed incidents whose breach was counted, no notice accepted yet: their deadline."""

    def _touch(self, entry: _Entry) -> None:
        """Work out again when ``entry`` is next due (after it changed)."""
        when = self._next(entry)
        if when is None:
            self._when.pop(entry.incident, None)
            return
        if self._when.get(entry.incident) != when:
            self._when[entry.incident] = when
            heapq.heappush(self._heap, (when, entry.incident))

    def _drop(self, incident: int) -> None:
        self._open.pop(incident, None)
        self._when.pop(incident, None)

    def track(
        self,
        *,
        incident: int,
        circuit: str,
        policy: Policy,
        deadline: datetime | None,
        notified: bool = False,
    ) -> None:
        """Start (or re-start after a restart) the schedule of an open incident. ``deadline``
        comes from ``sla.notify_deadline``; None means no notice is owed (yet)."""
        if deadline is None:
            self._drop(incident)
            return
        entry = self._open.get(incident)
        clock = deadline - NOTIFY_WITHIN
        if entry is None:
            entry = self._open[incident] = _Entry(
                incident=incident, circuit=circuit, policy=policy, clock=clock, notified=notified
            )
        else:
            entry.clock, entry.policy = clock, policy
            entry.notified = entry.notified or notified
        self._touch(entry)

    def notified(self, incident: int) -> datetime | None:
        """A notice for the incident was accepted by a relay: no warning or breach follows.
        The deadline of a closed incident whose breach was counted already, if it was one."""
        late = self._late.pop(incident, None)
        entry = self._open.get(incident)
        if entry is None:
            return late
        entry.notified = True
        if entry.closed:
            self._drop(incident)
        else:
            self._touch(entry)
        return late

    def close(self, incident: int, at: datetime, *, owes: bool) -> list[Action]:
        """The incident ended at ``at``. If it ``owes`` a notice (it has a notification
        deadline): the OPENED notices not sent yet, the designated contacts' and those whose
        time came before ``at``; then, owed or not, RECOVERED to every group sent OPENED (see
        the module doc)."""
        entry = self._open.get(incident)
        if entry is None:
            return []
        actions = _closing(entry, at, owes=owes)
        if not owes or entry.notified:
            self._drop(incident)
        else:
            self._touch(entry)
        return actions

    def resume_closed(
        self,
        *,
        incident: int,
        circuit: str,
        policy: Policy,
        deadline: datetime | None,
        end: datetime,
        notified: bool,
        stored: Mapping[tuple[str, str | None], Collection[str]],
        now: datetime,
    ) -> list[Action]:
        """After a restart: what the close of a closed incident owed (see :meth:`close`) and
        the outbox does not hold. ``stored``: (kind, group) of its stored notices -> the
        recipients they went to (a group's notice is a row per language).

        Only an incident with an OPENED stored is looked at: one with none owed nothing at its
        close, or a window since withdrawn or a policy since changed would now make it owe
        what it never did. (Lost, so: the OPENED and RECOVERED of an outage that ended before
        its first notice was stored, if the daemon died in the milliseconds between the close
        and their rows.) A stored RECOVERED means its close was carried out (a close's
        notices are stored in order): no OPENED is owed anew, so a group added since is not
        told of an old outage. A notice is owed while some of its recipients have no row of
        it. Nothing for an incident with a notice stored before groups were. Its deadline
        stays watched (warning, breach) while it is ahead and no notice was accepted; once
        passed, its breach counted, it is kept as late (see the module doc). Rows
        stored before the outbox kept groups count for the groups they share recipients with
        (:func:`_credited`)."""
        stored = _credited(stored, policy.groups)
        told = {g for kind, g in stored if kind == ActionKind.OPENED}
        if not told:
            return []
        entry = _Entry(
            incident=incident,
            circuit=circuit,
            policy=policy,
            clock=end if deadline is None else deadline - NOTIFY_WITHIN,
            notified=notified,
            emitted={f"{ActionKind.OPENED}.{g}" for g in told},
        )
        again = [  # a told group's OPENED, in case a language of it is missing
            entry.action(ActionKind.OPENED, g, entry.clock + g.after)
            for g in policy.groups
            if g.name in told
        ]
        done = any(kind == ActionKind.RECOVERED for kind, _ in stored)
        actions = again + _closing(entry, end, owes=deadline is not None and not done)
        if deadline is not None and deadline > now and not notified:
            self._open[incident] = entry
            self._touch(entry)
        elif deadline is not None and not notified:
            self._late[incident] = deadline
        return [
            a
            for a in actions
            if not set(a.recipients) <= set(stored.get((str(a.kind), a.group), ()))
        ]

    def forget(self, incident: int) -> None:
        """Stop watching an incident (its circuit is no longer monitored)."""
        self._drop(incident)
        self._late.pop(incident, None)

    def due(self, now: datetime) -> list[Action]:
        """Every action whose time has come, each returned once: only the entries whose next
        time has come are looked at."""
        actions: list[Action] = []
        ready: list[_Entry] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, incident = heapq.heappop(heap)
            if self._when.get(incident) == when:  # else a stale pair: the entry moved
                del self._when[incident]
                ready.append(self._open[incident])
        for entry in ready:
            actions.extend(self._due(entry, now))
            if entry.closed and f"{ActionKind.BREACH}" in entry.emitted:
                self._drop(entry.incident)  # nothing more can be owed
                self._late[entry.incident] = entry.deadline
            else:
                self._touch(entry)
        return sorted(actions, key=lambda a: a.due)

    def next_wakeup(self) -> datetime | None:
        """The earliest time at which ``due`` would return something new."""
        heap = self._heap
        while heap and self._when.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # stale: the entry moved or went
        return heap[0][0] if heap else None

    def pending(self) -> list[tuple[int, str, datetime]]:
        """(incident, circuit, deadline) of open incidents still waiting for a notice."""
        return [(e.incident, e.circuit, e.deadline) for e in self._open.values() if not e.notified]

    def awaited(self, now: datetime) -> list[int]:
        """The incidents a relay's acceptance would still change: those :meth:`pending`, and
        those closed whose breach was counted, up to LATE_KEEP after their deadline (a
        write-down later than that is not waited for: see the module doc)."""
        late = self._late
        for incident in [i for i, deadline in late.items() if now - deadline > LATE_KEEP]:
            del late[incident]
        return [i for i, _, _ in self.pending()] + list(late)

    # -- internals -----------------------------------------------------------------------
    def _schedule(self, e: _Entry) -> list[tuple[datetime, str, ActionKind, Group | None]]:
        items: list[tuple[datetime, str, ActionKind, Group | None]] = [
            (e.clock + g.after, f"{ActionKind.OPENED}.{g.name}", ActionKind.OPENED, g)
            for g in e.policy.groups
            if not e.closed
        ]
        if not e.notified:
            items.append(
                (
                    e.deadline - e.policy.warn_before,
                    str(ActionKind.DEADLINE_AT_RISK),
                    ActionKind.DEADLINE_AT_RISK,
                    None,
                )
            )
            items.append((e.deadline + _EPS, str(ActionKind.BREACH), ActionKind.BREACH, None))
        return [i for i in items if i[1] not in e.emitted]

    def _due(self, e: _Entry, now: datetime) -> list[Action]:
        out = []
        for when, key, kind, group in self._schedule(e):
            if when <= now:
                e.emitted.add(key)
                out.append(e.action(kind, group, when))
        every = e.policy.reminder_every
        if every and e.policy.groups and not e.closed and now >= e.clock + every:
            seq = int((now - e.clock) / every)
            if seq > e.last_reminder:
                e.last_reminder = seq
                out.append(
                    e.action(ActionKind.REMINDER, e.policy.groups[0], e.clock + seq * every, seq)
                )
        return out

    def _next(self, e: _Entry) -> datetime | None:
        times = [when for when, *_ in self._schedule(e)]
        if e.policy.reminder_every and e.policy.groups and not e.closed:
            times.append(e.clock + (e.last_reminder + 1) * e.policy.reminder_every)
        return min(times, default=None)


def _closing(entry: _Entry, at: datetime, *, owes: bool) -> list[Action]:
    """What closing ``entry`` at ``at`` owes (see :meth:`Ledger.close`); marks it closed."""
    owed = []
    if owes:
        for n, g in enumerate(entry.policy.groups):
            key, due = f"{ActionKind.OPENED}.{g.name}", entry.clock + g.after
            if key not in entry.emitted and (due <= at or n == 0):
                entry.emitted.add(key)
                owed.append(entry.action(ActionKind.OPENED, g, due))
    recovered = [
        entry.action(ActionKind.RECOVERED, g, at)
        for g in entry.policy.groups
        if f"{ActionKind.OPENED}.{g.name}" in entry.emitted
    ]
    entry.closed = True
    return owed + recovered


_EPS = timedelta(microseconds=1)
"""A breach is *after* the deadline: a notice accepted exactly at it is in time."""


def _credited(
    stored: Mapping[tuple[str, str | None], Collection[str]], groups: Sequence[Group]
) -> Mapping[tuple[str, str | None], Collection[str]]:
    """``stored`` with each row of no group (stored by a journal before schema 6, which kept
    none) credited to every group it shares a recipient with, for the recipients shared: a
    recipient who holds a notice of that kind is not sent it again under another group."""
    loose = [(kind, set(r)) for (kind, group), r in stored.items() if group is None]
    if not loose:
        return stored
    out = {key: set(r) for key, r in stored.items() if key[1] is not None}
    for kind, recipients in loose:
        for g in groups:
            if shared := recipients.intersection(g.recipients):
                out.setdefault((kind, g.name), set()).update(shared)
    return out


def policy_groups(contacts: Sequence[str], escalation: Sequence[Group]) -> tuple[Group, ...]:
    """The designated contacts as the ``primary`` group, then the escalation groups."""
    return (Group(name=PRIMARY, after=timedelta(0), recipients=tuple(contacts)), *escalation)
