"""The circuits' part of the configuration: each circuit's paths, maintenance windows,
contacts and escalation (validated as the YAML gives them; see ``config/example.yaml``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from monitor.config.fields import (
    Address,
    Email,
    Strict,
    check_address,
    check_aware,
    check_zone,
    not_a_number,
    twice,
)
from monitor.config.snmp import RouterConfig
from monitor.core.bounds import BoundsError, check_time, check_window
from monitor.core.model import Demarc, MaintenanceWindow, Router


class PathConfig(Strict):
    """One router x demarc path. ``probe: snmp`` takes its state from the router's SNMP view
    of the demarc (ifOperStatus, and bgpPeerState where configured) instead of ICMP."""

    router: Router
    demarc: Demarc
    address: Address
    probe: Literal["icmp", "snmp"] = "icmp"

    _check_address = field_validator("address")(check_address)


class MaintenanceConfig(Strict):
    """An announced suspension; ``announced_at`` is when the customer was told (default:
    ``start``): the window excludes time only from then (SLA.md §1)."""

    start: datetime
    end: datetime
    note: str = ""
    announced_at: datetime | None = None

    _not_a_number = field_validator("start", "end", "announced_at", mode="before")(not_a_number)
    _check_aware = field_validator("start", "end", "announced_at")(
        lambda v: None if v is None else check_aware(v)
    )

    @model_validator(mode="after")
    def _sane(self) -> Self:
        """core/bounds.py: within 2000..2100, end after start, at most a year long; and
        told of before it ended."""
        try:
            check_window(self.start, self.end)
            if self.announced_at is not None:
                check_time(self.announced_at, "announced_at")
        except BoundsError as exc:
            raise ValueError(str(exc)) from None
        if self.announced_at is not None and self.announced_at >= self.end:
            raise ValueError(
                f"announced_at {self.announced_at.isoformat()} is not before end "
                f"{self.end.isoformat()}: a window told of after it ended excludes nothing; "
                "drop the window or fix the date"
            )
        return self

    def window(self) -> MaintenanceWindow:
        return MaintenanceWindow(
            start=self.start, end=self.end, note=self.note, announced_at=self.announced_at
        )


class ContactConfig(Strict):
    address: Email
    lang: Literal["ja", "en"] = "ja"


def _contact(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


Contact = Annotated[ContactConfig, Field()]


class EscalationConfig(Strict):
    """A contact group notified ``after_min`` minutes after detection if still open."""

    name: str
    after_min: StrictFloat = Field(ge=0)
    contacts: tuple[ContactConfig, ...]

    _contacts = field_validator("contacts", mode="before")(
        lambda v: [_contact(c) for c in v] if isinstance(v, list) else v
    )


class CircuitConfig(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    monthly_fee_yen: StrictInt = Field(gt=0)
    static_nat_fee_yen: StrictInt = Field(default=0, ge=0)
    contacts: tuple[ContactConfig, ...]
    paths: tuple[PathConfig, ...]
    maintenance: tuple[MaintenanceConfig, ...] = ()
    timezone: str | None = None
    probe_interval_s: StrictFloat | None = Field(default=None, gt=0, le=3600)
    escalation: tuple[EscalationConfig, ...] = ()
    routers: dict[Router, RouterConfig] = Field(default_factory=dict)

    _contacts = field_validator("contacts", mode="before")(
        lambda v: [_contact(c) for c in v] if isinstance(v, list) else v
    )

    @model_validator(mode="after")
    def _snmp_paths(self) -> Self:
        for i, p in enumerate(self.paths):
            if p.probe != "snmp":
                continue
            router = self.routers.get(p.router)
            if router is None or (
                p.demarc not in router.interfaces and p.demarc not in router.bgp_peers
            ):
                raise ValueError(
                    f"paths[{i}] has probe: snmp, so routers.{p.router}.interfaces.{p.demarc} "
                    f"(or bgp_peers.{p.demarc}) must say what to poll"
                )
        return self

    @model_validator(mode="after")
    def _no_copies(self) -> Self:
        """Copy-paste mistakes: two ICMP paths probing one address (the circuit would be down
        whenever that host is, and no path measured on its own; an SNMP path's address is not
        probed), or one address twice in a list of contacts."""
        probed: dict[str, int] = {}
        for i, p in enumerate(self.paths):
            if p.probe != "icmp":
                continue
            if p.address in probed:
                first = self.paths[probed[p.address]]
                raise ValueError(
                    f"circuit {self.id}: paths[{probed[p.address]}] ({first.router}/"
                    f"{first.demarc}) and paths[{i}] ({p.router}/{p.demarc}) both probe "
                    f"{p.address}; give each path the address of its own far end"
                )
            probed[p.address] = i
        lists = [("contacts", self.contacts)]
        lists += [(f"escalation[{n}].contacts", e.contacts) for n, e in enumerate(self.escalation)]
        for where, contacts in lists:
            again = twice(c.address for c in contacts)
            if again is not None:
                raise ValueError(
                    f"circuit {self.id}: {where} lists {again} twice; list each contact once"
                )
        return self

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @field_validator("contacts")
    @classmethod
    def _some_contacts(cls, contacts: tuple[ContactConfig, ...]) -> tuple[ContactConfig, ...]:
        if not contacts:
            raise ValueError("list at least one designated fault contact (an email address)")
        return contacts

    @field_validator("paths")
    @classmethod
    def _unique_paths(cls, paths: tuple[PathConfig, ...]) -> tuple[PathConfig, ...]:
        if not paths:
            raise ValueError("list the circuit's router x demarc paths (normally 4)")
        seen: set[tuple[Router, Demarc]] = set()
        for p in paths:
            if (p.router, p.demarc) in seen:
                raise ValueError(
                    f"duplicate path {p.router}/{p.demarc}; list each router x demarc pair once"
                )
            seen.add((p.router, p.demarc))
        return paths
