"""Shared pieces of the configuration models: the strict base model and field validators."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Unknown keys refused, values frozen, text stripped; no number is ``.nan`` or ``.inf``
    (YAML reads both as floats: a NaN passes no bound's test, an infinite timeout hangs)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Tokyo"
        ) from None
    return name


def check_address(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # probed over IPv6 it would never answer as the IPv4 host does
        raise ValueError(
            f"{value!r} is an IPv4-mapped IPv6 address; write {mapped} (the IPv4 form)"
        )
    return str(address)


def not_a_number(value: object) -> object:
    """Before-validator for times: a bare number is not read as seconds since 1970."""
    if isinstance(value, int | float):
        raise ValueError(f"{value!r} is a number; write a time like 2026-10-05T01:00:00+09:00")
    return value


def check_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp has no UTC offset; write it like 2026-10-05T01:00:00+09:00")
    return value


def check_host_port(value: str) -> str:
    _, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: write HOST:PORT, e.g. 127.0.0.1:9713")
    return value


def split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


Address = Annotated[str, Field(min_length=1)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
