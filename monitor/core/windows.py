"""The rules for a maintenance window an operator announces through the API or the CLI
(docs/contract.md, "Announced suspensions do not count").

Its times lie within the sane bounds of core/bounds.py. A window excludes time only from when
the customer was told of it. Recorded now with no
earlier announcement stated, it counts from now; an earlier moment may be stated, a later one
may not (the customer has not been told yet), and a moment after the window's end would make
it exclude nothing, so it is refused with the field named.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.core.bounds import check_time, check_window
from monitor.core.errors import InputError
from monitor.core.model import MaintenanceWindow, require_aware


def announce(
    start: datetime,
    end: datetime,
    *,
    note: str,
    now: datetime,
    announced_at: datetime | None = None,
) -> MaintenanceWindow:
    """The window to record at ``now`` (aware): InputError naming the field when a rule is
    broken. Times are kept in UTC."""
    check_window(require_aware(start, "start"), require_aware(end, "end"))
    told = now if announced_at is None else require_aware(announced_at, "announced_at")
    check_time(told, "announced_at")
    if told > now:
        raise InputError(
            f"announced_at {told.isoformat()} is in the future: a window counts from when the "
            "customer was told, so record it once they have been",
            "announced_at",
        )
    if told >= end:
        hint = (
            ""
            if announced_at is not None
            else (
                "; if the customer was told earlier, state when (announced_at in the API, "
                "--announced-at in the CLI)"
            )
        )
        raise InputError(
            f"announced_at {told.isoformat()} is not before end {end.isoformat()}: a window "
            f"told of after it ended excludes nothing{hint}",
            "announced_at",
        )
    return MaintenanceWindow(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        note=note,
        announced_at=told.astimezone(UTC),
    )
