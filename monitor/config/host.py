"""What the NOC host runs, as configured: the control targets, the HTTP listener, the SMTP
relays and notification policy, and the two-host cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import (
    Field,
    StrictBool,
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
    check_host_port,
    split_host_port,
    twice,
)


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
