"""YAML configuration -> validated, frozen settings. The only module that knows the file format.

Every mistake is reported with its location in the file (``circuits[0].paths[2].address``)
and what to do about it, as one :class:`ConfigError`. See ``config/example.yaml``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.config.circuits import CircuitConfig
from monitor.config.customers import CustomerConfig, check_customers
from monitor.config.evidence import EvidenceConfig
from monitor.config.fields import Strict, check_zone
from monitor.config.host import (
    ClusterConfig,
    ControlTargetConfig,
    HttpConfig,
    NotifyConfig,
    SmtpRelayConfig,
)
from monitor.config.retired import RetiredCircuitConfig, check_retired
from monitor.config.snmp import TrapsConfig, read_secret
from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import Group, policy_groups
from monitor.core.errors import ConfigError
from monitor.core.location import check_postgres_url, is_postgres
from monitor.core.model import PathKey
from monitor.core.plan import (
    CircuitPlan,
    ClusterPlan,
    ControlPlan,
    NotifyPlan,
    PathPlan,
    Plan,
)

__all__ = [
    "Settings",
    "SmtpRelayConfig",
    "load",
    "load_demo",
    "load_or_demo",
    "parse",
    "read_secret",
]

DEMO_CONFIG = "demo.yaml"


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
