"""Retired circuits: no longer monitored, still owed for (``retired_circuits:``).

A circuit taken out of ``circuits:`` is no longer probed, and the daemon ends its open incident
("monitoring ended"). Its incidents stay in the journal, and so do the credits they earn: a
month's report still owes them (SLA.md §4: a credit may be claimed for three months). The
report prices an incident from its circuit's fee, which only the configuration holds, so a
circuit that leaves monitoring moves to ``retired_circuits:`` with its fees, timezone and the
moment monitoring ended (``retired_at``); reports list it in each month up to that moment and
count its service time up to it (§6.8). A circuit that is in neither list has incidents no
report can price: ``slawatch report`` names them on stderr rather than leave them out
silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field, StrictInt, field_validator

from monitor.config.fields import Strict, check_aware, check_zone, not_a_number
from monitor.core.bounds import BoundsError, check_time


class RetiredCircuitConfig(Strict):
    """A circuit no longer monitored: its fees (yen a month, as they were), its timezone
    (default: the configuration's) and when monitoring ended (aware)."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    monthly_fee_yen: StrictInt = Field(gt=0)
    static_nat_fee_yen: StrictInt = Field(default=0, ge=0)
    timezone: str | None = None
    retired_at: datetime

    _not_a_number = field_validator("retired_at", mode="before")(not_a_number)

    @field_validator("retired_at")
    @classmethod
    def _retired_at(cls, value: datetime) -> datetime:
        check_aware(value)
        try:
            check_time(value, "retired_at")
        except BoundsError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)


def check_retired(retired: Sequence[RetiredCircuitConfig], circuits: Sequence[str]) -> None:
    """ValueError naming the first mistake: a retired id twice, or one that is also a
    monitored circuit."""
    monitored, seen = set(circuits), set[str]()
    for n, r in enumerate(retired):
        where = f"retired_circuits[{n}].id"
        if r.id in seen:
            raise ValueError(f"{where}: {r.id!r} is retired twice; list each circuit once")
        if r.id in monitored:
            raise ValueError(
                f"{where}: {r.id!r} is also under circuits:; a circuit is either monitored "
                "(circuits:) or retired (retired_circuits:): remove it from one of them"
            )
        seen.add(r.id)
