"""Customer notices held while the monitor is blind (SLA.md §6.5).

While a control target is down the monitor cannot tell an outage from its own isolation, so
it sends the customers nothing; the NOC's own notices (deadline at risk, breach) still go. What
the ledger owed the customers meanwhile waits here and goes out when sight returns, in the
order it was owed: OPENED and RECOVERED as owed, reminders collapsed to the latest one per
incident (as the ledger collapses them after a restart). The notification deadline runs on
regardless: the regulation makes no exception for it, so a blind spell that outlasts it is a
breach, as the report will say.

A circuit removed from the configuration while blind is told at once what it was owed and
that its incident closed ("removed from monitoring" is the operator's act, not something the
monitor saw). A node that loses the lead drops what it held: the new leader owes it from the
journal.

Held notices live in memory. After a restart the ledger owes them again from the journal (and
holds them again if the restored control target is still down; the outbox drops any already
sent): an open incident's as it owes them at any start, a closed incident's as its close owed
them less what the outbox holds (``Ledger.resume_closed``; it was told OPENED before the
blindness, or is opened only when sight returns).
"""

from __future__ import annotations

from monitor.core.deadlines import NOC, Action, ActionKind


class Held:
    """The customer actions owed while blind, to be sent when sight returns."""

    __slots__ = ("_actions",)

    def __init__(self) -> None:
        self._actions: list[Action] = []

    def __len__(self) -> int:
        return len(self._actions)

    @staticmethod
    def holds(action: Action) -> bool:
        """Whether ``action`` is for the customers (every group but the NOC's)."""
        return action.group != NOC

    def keep(self, action: Action) -> None:
        self._actions.append(action)

    def release(self, circuit: str | None = None) -> list[Action]:
        """Every held action (of ``circuit`` only, if given) once, in the order it was owed
        (not by due time: a close's recovery can be due, backdated, before an escalation
        owed a moment earlier, and must not overtake it); of an incident's reminders, the
        latest."""
        mine = [a for a in self._actions if circuit in (None, a.circuit)]
        self._actions = [a for a in self._actions if circuit not in (None, a.circuit)]
        latest = {
            a.incident: a for a in sorted(mine, key=lambda a: a.seq)
            if a.kind is ActionKind.REMINDER
        }  # fmt: skip
        return [a for a in mine if a.kind is not ActionKind.REMINDER or latest[a.incident] is a]
