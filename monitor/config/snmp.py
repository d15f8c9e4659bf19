"""SNMP configuration: router agents (polling), the trap receiver, and where secrets live.

Secrets (communities, USM keys) are never written in the YAML: the YAML names an environment
variable or a file, and :func:`read_secret` reads it when the daemon starts.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, StrictFloat, StrictInt, field_validator, model_validator

from monitor.config.fields import Address, Strict, check_address, check_host_port, split_host_port
from monitor.core.errors import ConfigError
from monitor.core.model import Demarc

AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "3des", "aes", "aes192", "aes256"]
"""The USM protocols, as written in the YAML (probes/snmp/poller.py maps them to pysnmp's)."""


class SecretConfig(Strict):
    """Where a secret lives: an environment variable or a file (first line). Never the YAML."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_place(cls, value: object) -> object:
        """``community: public`` is the secret itself: say what to write instead, without
        repeating it (the message reaches logs)."""
        if not isinstance(value, dict | cls):
            raise ValueError(
                "write where the secret lives, {env: NAME} or {file: PATH}, never the secret itself"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: VARIABLE or file: /path/to/secret")
        return self


class SnmpCredentialsConfig(Strict):
    """SNMPv2c (``community``) or SNMPv3 USM (``user`` with auth and priv keys)."""

    version: Literal["2c", "3"] = "2c"
    community: SecretConfig | None = None
    user: str | None = None
    auth_protocol: AuthProtocol = "sha"
    auth_key: SecretConfig | None = None
    priv_protocol: PrivProtocol = "aes"
    priv_key: SecretConfig | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.version == "2c" and self.community is None:
            raise ValueError("SNMPv2c needs community: {env: VAR} or {file: PATH}")
        if self.version == "3" and not (self.user and self.auth_key and self.priv_key):
            raise ValueError(
                "SNMPv3 needs user, auth_key and priv_key (authPriv); "
                "keys as {env: VAR} or {file: PATH}"
            )
        return self


class InterfaceConfig(Strict):
    """The router's interface facing a demarc, by ifName or ifDescr (resolved to ifIndex)."""

    if_name: str | None = Field(default=None, min_length=1)
    if_descr: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.if_name is None) == (self.if_descr is None):
            raise ValueError("give exactly one of if_name or if_descr")
        return self


class RouterConfig(Strict):
    """A router's SNMP agent: polled for the state of its interfaces and BGP peers."""

    address: Address
    port: StrictInt = Field(default=161, gt=0, lt=65536)
    snmp: SnmpCredentialsConfig
    poll_interval_s: StrictFloat = Field(default=10.0, gt=0, le=3600)
    timeout_s: StrictFloat = Field(default=1.0, gt=0, le=60)
    retries: StrictInt = Field(default=1, ge=0, le=10)
    interfaces: dict[Demarc, InterfaceConfig] = Field(default_factory=dict)
    bgp_peers: dict[Demarc, Address] = Field(default_factory=dict)

    _check_address = field_validator("address")(check_address)

    @field_validator("bgp_peers")
    @classmethod
    def _peers(cls, peers: dict[Demarc, str]) -> dict[Demarc, str]:
        for address in peers.values():
            if ipaddress.ip_address(check_address(address)).version != 4:
                raise ValueError(f"{address}: BGP4-MIB indexes peers by IPv4 address only")
        return peers


class TrapUserConfig(Strict):
    """An SNMPv3 user that may send traps; ``engine_id`` is the sender's, in hex."""

    user: str = Field(min_length=1)
    engine_id: str = Field(pattern=r"^(0x)?[0-9A-Fa-f]{10,64}$")
    auth_protocol: AuthProtocol = "sha"
    auth_key: SecretConfig
    priv_protocol: PrivProtocol = "aes"
    priv_key: SecretConfig


class BurstConfig(Strict):
    """The re-probe a trap triggers: ``count`` rounds ``spacing_s`` apart."""

    count: StrictInt = Field(default=3, ge=1, le=20)
    spacing_s: StrictFloat = Field(default=0.2, gt=0, le=10)


class TrapsConfig(Strict):
    listen: str = "0.0.0.0:162"
    community: SecretConfig | None = None
    users: tuple[TrapUserConfig, ...] = ()
    burst: BurstConfig = BurstConfig()

    _listen = field_validator("listen")(lambda v: check_host_port(v))

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if self.community is None and not self.users:
            raise ValueError("accept traps from someone: community: {env|file} or users: [...]")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        return split_host_port(self.listen)


def read_secret(secret: SecretConfig, where: str) -> str:
    """The secret's value from its environment variable or file (first line, stripped).
    ``where`` names the config field for the error message."""
    if secret.env is not None:
        value = os.environ.get(secret.env, "").strip()
        if not value:
            raise ConfigError(
                f"{where}: environment variable {secret.env} is not set or empty; "
                f"export it (systemd: Environment= or EnvironmentFile=)"
            )
        return value
    assert secret.file is not None
    try:
        value = secret.file.read_text(encoding="utf-8").strip().splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or (
            "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "file is empty"
        )
        raise ConfigError(f"{where}: cannot read {secret.file}: {reason}") from None
    if not value:
        raise ConfigError(f"{where}: {secret.file} has an empty first line")
    return value
