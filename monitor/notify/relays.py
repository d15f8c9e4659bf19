"""Relay configuration: TLS mode, credentials, trust, and the retry backoff.

Plain values, built once from the configuration by the service; the password is resolved at
build time (from an environment variable or a file), so a missing secret is a ConfigError at
start-up, not a failed notice at 3 a.m.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from monitor.core.errors import ConfigError


class TlsMode(StrEnum):
    NONE = "none"  # plain SMTP (a relay on loopback or a trusted segment)
    STARTTLS = "starttls"  # plain connect, then STARTTLS, required (usually port 587)
    IMPLICIT = "implicit"  # TLS from the first byte (usually port 465)


@dataclass(frozen=True, slots=True, kw_only=True)
class Relay:
    """One configured SMTP relay. ``password`` is the resolved secret: it never appears in
    ``repr`` or logs. ``ca_file`` adds a trusted CA; ``verify=False`` trusts any certificate
    (tests, or a relay on loopback). ``name`` defaults to ``host:port``."""

    host: str
    port: int = 25
    tls: TlsMode = TlsMode.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    ca_file: Path | None = None
    verify: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.host}:{self.port}")
        where = f"notify.smtp relay {self.name}"
        if self.timeout_s <= 0:
            raise ConfigError(f"{where}: timeout_s must be > 0 seconds")
        if (self.username is None) != (self.password is None):
            raise ConfigError(
                f"{where}: AUTH needs both a username and a password "
                "(password_env or password_file); set both or neither"
            )
        if self.username is not None and self.tls is TlsMode.NONE:
            raise ConfigError(
                f"{where}: AUTH over tls: none would send the password in clear; "
                "use tls: starttls or tls: implicit"
            )

    @classmethod
    def build(
        cls,
        *,
        host: str,
        port: int = 25,
        tls: TlsMode | str = TlsMode.NONE,
        username: str | None = None,
        password_env: str | None = None,
        password_file: Path | str | None = None,
        timeout_s: float = 10.0,
        ca_file: Path | str | None = None,
        verify: bool = True,
        name: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Relay:
        """A relay from its configuration keys, with the password resolved now (ConfigError
        naming the relay and the fix when it cannot be)."""
        label = name or f"{host}:{port}"
        if tls not in set(TlsMode):
            raise ConfigError(
                f"notify.smtp relay {label}: tls {tls!r}; use one of none, starttls, implicit"
            )
        return cls(
            host=host,
            port=port,
            tls=TlsMode(tls),
            username=username,
            password=resolve_password(
                label, password_env=password_env, password_file=password_file, environ=environ
            ),
            timeout_s=timeout_s,
            ca_file=Path(ca_file) if ca_file is not None else None,
            verify=verify,
            name=label,
        )


def resolve_password(
    relay: str,
    *,
    password_env: str | None = None,
    password_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The relay's SMTP password from an environment variable or a file (one line; the line
    end is stripped, other whitespace kept). None when neither is configured."""
    where = f"notify.smtp relay {relay}"
    if password_env and password_file:
        raise ConfigError(f"{where}: set password_env or password_file, not both")
    if password_env:
        value = (os.environ if environ is None else environ).get(password_env, "")
        if not value:
            raise ConfigError(
                f"{where}: environment variable {password_env} is unset or empty; "
                f"export {password_env}=<SMTP password> for the daemon, or use password_file"
            )
        return value
    if password_file:
        try:
            value = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{where}: cannot read password_file {password_file} ({exc}); create it, "
                "readable by the daemon only (chmod 600), with the password on one line"
            ) from exc
        if not value:
            raise ConfigError(f"{where}: password_file {password_file} is empty; write it")
        return value
    return None


def tls_context(relay: Relay) -> ssl.SSLContext:
    """The client TLS context for a relay: system CAs plus ``ca_file``, or no checks at all
    when ``verify`` is off. ConfigError naming the relay when ``ca_file`` is unusable."""
    try:
        ctx = ssl.create_default_context(cafile=str(relay.ca_file) if relay.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"notify.smtp relay {relay.name}: cannot load ca_file {relay.ca_file} ({exc}); "
            "give a readable PEM file with the relay's CA certificate"
        ) from exc
    if not relay.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
