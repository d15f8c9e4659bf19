"""YAML configuration -> validated, frozen settings. The only module that knows the file format.

Every mistake is reported with its location in the file (``circuits[0].paths[2].address``)
and what to do about it, as one :class:`ConfigError`. See ``config/example.yaml``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.config.customers import CustomerConfig, check_customers
from monitor.config.evidence import EvidenceConfig
from monitor.config.fields import (
    Address,
    Email,
    Strict,
    check_address,
    check_aware,
    check_host_port,
    check_zone,
    not_a_number,
    split_host_port,
    twice,
)
from monitor.config.retired import RetiredCircuitConfig, check_retired
from monitor.config.snmp import RouterConfig, TrapsConfig, read_secret
from monitor.core.assess import CircuitTerms
from monitor.core.bounds import BoundsError, check_time, check_window
from monitor.core.deadlines import Group, policy_groups
from monitor.core.errors import ConfigError
from monitor.core.location import check_postgres_url, is_postgres
from monitor.core.model import Demarc, MaintenanceWindow, PathKey, Router
from monitor.core.plan import (
    CircuitPlan,
    ClusterPlan,
    ControlPlan,
    NotifyPlan,
    PathPlan,
    Plan,
)

__all__ = ["Settings", "load", "load_demo", "load_or_demo", "parse", "read_secret"]

DEMO_CONFIG = "demo.yaml"


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


class ControlTargetConfig(Strict):
    name: str = Field(min_length=1)
    address: Address

    _check_address = field_validator("address")(check_address)


class HttpConfig(Strict):
    listen: str = "127.0.0.1:9713"
    token_file: Path | None = None
    max_connections: StrictInt = Field(default=256, ge=8, le=65536)
    request_timeout_s: StrictFloat = Field(default=10.0, gt=0, le=300)

    _listen = field_validator("listen")(lambda v: check_host_port(v))

    @property
    def host_port(self) -> tuple[str, int]:
        return split_host_port(self.listen)


class SmtpRelayConfig(Strict):
    host: str = Field(min_length=1)
    port: StrictInt = Field(default=25, gt=0, lt=65536)
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    timeout_s: StrictFloat = Field(default=10.0, gt=0, le=300)
    ca_file: Path | None = None
    verify: StrictBool = True
    name: str | None = None


class NotifyConfig(Strict):
    from_: Email = Field(default="slawatch@localhost", alias="from")
    noc: tuple[Email, ...] = ()
    noc_lang: Literal["ja", "en"] = "ja"
    warn_before_deadline_min: StrictFloat = Field(default=10, ge=0, lt=30)
    reminder_every_min: StrictFloat | None = Field(default=60, gt=0)
    smtp: tuple[SmtpRelayConfig, ...] = ()
    maildir: Path = Path("./var/maildir")

    @field_validator("noc")
    @classmethod
    def _noc_once(cls, noc: tuple[str, ...]) -> tuple[str, ...]:
        again = twice(noc)
        if again is not None:
            raise ValueError(f"{again} is listed twice; list each address once")
        return noc


class ClusterConfig(Strict):
    """Two NOC hosts sharing one PostgreSQL journal: this host's ``node`` name (unique among
    them), the leader lease's length and how often it is renewed, in seconds."""

    node: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")
    lease_s: StrictFloat = Field(default=30.0, gt=0, le=600)
    renew_s: StrictFloat = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _margin(self) -> Self:
        if self.lease_s <= 2 * self.renew_s:
            raise ValueError(
                f"lease_s ({self.lease_s:g}) must be more than twice renew_s "
                f"({self.renew_s:g}): the leader stops sending lease_s - 2 renew_s after a "
                "renewal; e.g. lease_s: 30, renew_s: 5"
            )
        return self


class Settings(Strict):
    """The whole configuration; ``source`` names the file it came from."""

    timezone: str = "Asia/Tokyo"
    fail_after: StrictInt = Field(default=3, ge=1, le=100)
    recover_after: StrictInt = Field(default=2, ge=1, le=100)
    probe_interval_s: StrictFloat = Field(default=1.0, gt=0, le=3600)
    probe_timeout_s: StrictFloat = Field(default=1.0, gt=0, le=60)
    journal: Path | str = Path("./var/slawatch.db")
    """A SQLite file (a Path), or a ``postgresql://USER@HOST[:PORT]/DB`` URL (a str) for two NOC
    hosts sharing one journal: store.open_store takes either."""
    journal_password_file: Path | None = None
    """The PostgreSQL role's password (first line); without it libpq's PGPASSFILE or
    ~/.pgpass. Never in the URL."""
    http: HttpConfig = HttpConfig()
    control_targets: tuple[ControlTargetConfig, ...] = ()
    notify: NotifyConfig = NotifyConfig()
    snmp_traps: TrapsConfig | None = None
    cluster: ClusterConfig | None = None
    evidence: EvidenceConfig = EvidenceConfig()
    circuits: tuple[CircuitConfig, ...]
    retired_circuits: tuple[RetiredCircuitConfig, ...] = ()
    """Circuits no longer monitored whose months reports still price (config/retired.py)."""
    customers: tuple[CustomerConfig, ...] = ()
    """Who may sign in to the web UI with their own token (config/customers.py)."""
    source: str = Field(default="<memory>", exclude=True)

    _tz = field_validator("timezone")(check_zone)

    @field_validator("journal", mode="before")
    @classmethod
    def _journal(cls, value: object) -> object:
        if isinstance(value, str) and is_postgres(value):
            return check_postgres_url(value)
        return Path(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _cluster_journal(self) -> Self:
        if self.cluster is not None and not is_postgres(self.journal):
            raise ValueError(
                "cluster: NOC hosts share one journal, so journal: must be a postgresql:// URL "
                "(a SQLite file belongs to one host); remove cluster: for a single host"
            )
        return self

    @model_validator(mode="after")
    def _journal_password(self) -> Self:
        if self.journal_password_file is not None and not is_postgres(self.journal):
            raise ValueError(
                "journal_password_file: only a postgresql:// journal takes a password; remove "
                "it or set journal: to a postgresql:// URL"
            )
        return self

    @field_validator("circuits")
    @classmethod
    def _unique_circuits(cls, circuits: tuple[CircuitConfig, ...]) -> tuple[CircuitConfig, ...]:
        if not circuits:
            raise ValueError("list at least one circuit")
        ids = [c.id for c in circuits]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate circuit id {', '.join(dupes)}; each id must be unique")
        return circuits

    @model_validator(mode="after")
    def _timeout_fits(self) -> Self:
        """A path's probe must end (give or take the engine's 20 ms grain) by the time its
        next is sent: with a longer timeout a path would have probes in flight at once, and
        since results reach the core in the order they were sent (probing.py), every batch
        would wait for a loss's timeout."""
        t = self.probe_timeout_s
        if t > self.probe_interval_s:
            raise ValueError(
                f"probe_timeout_s ({t:g} s) is longer than probe_interval_s "
                f"({self.probe_interval_s:g} s); set probe_timeout_s ≤ "
                f"{self.probe_interval_s:g} or raise probe_interval_s"
            )
        for n, c in enumerate(self.circuits):
            if c.probe_interval_s is not None and t > c.probe_interval_s:
                raise ValueError(
                    f"circuits[{n}].probe_interval_s ({c.probe_interval_s:g} s) is shorter than "
                    f"probe_timeout_s ({t:g} s); raise circuits[{n}].probe_interval_s to "
                    f"{t:g} or more, or lower probe_timeout_s"
                )
        return self

    @model_validator(mode="after")
    def _customers(self) -> Self:
        check_customers(self.customers, [c.id for c in self.circuits])
        return self

    @model_validator(mode="after")
    def _retired(self) -> Self:
        check_retired(self.retired_circuits, [c.id for c in self.circuits])
        return self

    @field_validator("control_targets")
    @classmethod
    def _unique_controls(
        cls, targets: tuple[ControlTargetConfig, ...]
    ) -> tuple[ControlTargetConfig, ...]:
        names = [t.name for t in targets]
        if len(set(names)) != len(names):
            raise ValueError("duplicate control target name; each name must be unique")
        return targets

    # -- views for the core --------------------------------------------------------------
    def circuit(self, circuit_id: str) -> CircuitConfig:
        for c in self.circuits:
            if c.id == circuit_id:
                return c
        raise ConfigError(
            f"{self.source}: no circuit {circuit_id!r}; known: "
            f"{', '.join(c.id for c in self.circuits)}"
        )

    def tz(self, circuit: CircuitConfig) -> ZoneInfo:
        return ZoneInfo(circuit.timezone or self.timezone)

    def interval(self, circuit: CircuitConfig) -> float:
        return circuit.probe_interval_s or self.probe_interval_s

    def languages(self) -> dict[str, str]:
        """Language of every configured contact address (``ja`` or ``en``)."""
        out: dict[str, str] = {}
        for c in self.circuits:
            for contact in (*c.contacts, *(x for e in c.escalation for x in e.contacts)):
                out[contact.address] = contact.lang
        return out

    def plan(self) -> Plan:
        """The configuration as the monitor sees it (plain core values; see core/plan.py)."""
        n = self.notify
        every = n.reminder_every_min
        terms = self.terms()
        return Plan(
            circuits=tuple(
                CircuitPlan(
                    id=c.id,
                    paths=tuple(
                        PathPlan(
                            key=PathKey(circuit=c.id, router=p.router, demarc=p.demarc),
                            address=p.address,
                            probe=p.probe,
                        )
                        for p in c.paths
                    ),
                    terms=terms[c.id],
                    groups=policy_groups(
                        [x.address for x in c.contacts],
                        [
                            Group(
                                name=e.name,
                                after=timedelta(minutes=e.after_min),
                                recipients=tuple(x.address for x in e.contacts),
                            )
                            for e in c.escalation
                        ],
                    ),
                    interval_s=self.interval(c),
                )
                for c in self.circuits
            ),
            controls=tuple(
                ControlPlan(name=t.name, address=t.address, interval_s=self.probe_interval_s)
                for t in self.control_targets
            ),
            fail_after=self.fail_after,
            recover_after=self.recover_after,
            timeout_s=self.probe_timeout_s,
            timezone=self.timezone,
            cluster=None
            if self.cluster is None
            else ClusterPlan(
                node=self.cluster.node,
                lease_s=self.cluster.lease_s,
                renew_s=self.cluster.renew_s,
                fresh_s=3
                * max([self.probe_interval_s, *(self.interval(c) for c in self.circuits)]),
            ),
            notify=NotifyPlan(
                sender=n.from_,
                noc=n.noc,
                noc_lang=n.noc_lang,
                warn_before=timedelta(minutes=n.warn_before_deadline_min),
                reminder_every=timedelta(minutes=every) if every else None,
                languages=tuple(sorted(self.languages().items())),
            ),
        )

    def terms(self) -> dict[str, CircuitTerms]:
        return {
            c.id: CircuitTerms(
                circuit=c.id,
                fee_yen=c.monthly_fee_yen,
                static_nat_fee_yen=c.static_nat_fee_yen,
                tz=self.tz(c),
                maintenance=tuple(m.window() for m in c.maintenance),
                probe_interval_s=self.interval(c),
            )
            for c in self.circuits
        }

    def report_terms(self) -> dict[str, CircuitTerms]:
        """:meth:`terms` and the retired circuits' (each ending at its ``retired_at``): what
        a report prices, in the configuration's order."""
        return self.terms() | {
            r.id: CircuitTerms(
                circuit=r.id,
                fee_yen=r.monthly_fee_yen,
                static_nat_fee_yen=r.static_nat_fee_yen,
                tz=ZoneInfo(r.timezone or self.timezone),
                retired_at=r.retired_at.astimezone(UTC),
            )
            for r in self.retired_circuits
        }


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "function ")):
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _message(err: Any) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key; check the spelling against config/example.yaml"
    if kind == "missing":
        return "required key is missing"
    if kind == "finite_number":
        return "must be a finite number, not .nan or .inf"
    return str(msg).removeprefix("Value error, ")


def parse(data: Any, source: str = "<memory>") -> Settings:
    """Validate already-loaded YAML data; raise ConfigError listing every mistake."""
    if data is None:
        raise ConfigError(
            f"{source}: the file is empty (or holds only comments); write the configuration, "
            "starting from config/example.yaml"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file must hold a mapping of keys (timezone, circuits, ...)"
        )
    try:
        return Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = [f"{_location(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(f"{source}: {len(lines)} error(s)\n  " + "\n  ".join(lines)) from None


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~6x faster on big files
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader, refusing a key given twice in one mapping (YAML 1.2 forbids it;
    PyYAML keeps the last, so a second ``circuits:`` silently dropped the first). Keys
    that ``<<: *anchor`` merges in may be overridden, as YAML intends."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                continue  # the base class refuses it, with its own message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {key!r} (first on line {seen[key]}); give each key once",
                    key_node.start_mark,
                )  # fmt: skip
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a safe loader (C or Python)


def load(path: str | Path) -> Settings:
    """Read and validate a YAML file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{p}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file "
            "as UTF-8"
        ) from None
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse(data, str(p))


def load_or_demo(path: str | Path | None) -> Settings:
    """``--config PATH`` when given, else the built-in demo (what every command defaults to)."""
    return load(path) if path else load_demo()


def load_demo() -> Settings:
    """The built-in demo configuration (probes loopback; mail to ./var/maildir)."""
    text = resources.files("monitor").joinpath("demo", DEMO_CONFIG).read_text(encoding="utf-8")
    return parse(_load_yaml(text), f"<built-in {DEMO_CONFIG}>")
