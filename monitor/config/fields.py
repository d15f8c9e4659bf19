"""Shared pieces of the configuration models: the strict base model and field validators."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Unknown keys refused, values frozen, text stripped; no number is ``.nan`` or ``.inf``
    (YAML reads both as floats: a NaN passes no bound's test, an infinite timeout hangs)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


_ETC_GMT = re.compile(r"Etc/GMT([+-])(\d+)")
_NOT_PLACES = {
    "localtime": "this host's local time (/etc/localtime), which differs from host to host",
    "Factory": "a placeholder zone of tzdata, not a place",
}


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str) -> str:
    """An IANA time zone name (``Asia/Tokyo``): a circuit's zone decides its months, and so
    which month a credit belongs to. Refused: what is not an IANA name (a file path,
    ``posix/...``), ``localtime`` (the host's own, so one journal's months would differ by
    host), and ``Etc/GMT+N``, whose POSIX sign reads backwards: ``Etc/GMT+9`` is UTC-09:00."""
    if name in _NOT_PLACES:
        raise ValueError(
            f"{name!r} is {_NOT_PLACES[name]}; write the IANA name of the circuit's place, "
            "e.g. Asia/Tokyo"
        )
    etc = _ETC_GMT.fullmatch(name)
    if etc is not None and int(etc[2]) != 0:
        hours = int(etc[2])
        real, looks = ("-", "+") if etc[1] == "+" else ("+", "-")
        raise ValueError(
            f"{name!r} is UTC{real}{hours:02d}:00, not UTC{looks}{hours:02d}:00 (the Etc/GMT "
            "zones invert the sign, as POSIX TZ does); write the IANA name of the circuit's "
            "place, e.g. Asia/Tokyo for UTC+09:00"
        )
    if name not in _iana_names():  # every name there loads: each is a TZif file
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as Asia/Tokyo")
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


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_host_port(value: str) -> str:
    """``HOST:PORT`` to listen on: HOST an IPv4 address, an IPv6 one in brackets, or a host
    name (RFC 1123). An empty HOST is refused: the socket would bind every interface, where
    the docs promise 127.0.0.1; every interface is written 0.0.0.0."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: write HOST:PORT, e.g. 127.0.0.1:9713")
    if not host:
        raise ValueError(
            f"{value!r} has no host, which would listen on every interface; write "
            f"0.0.0.0:{port} explicitly if every interface is meant, or 127.0.0.1:{port} "
            "for this host only"
        )
    if host.startswith("[") and host.endswith("]"):
        _check_ip(host[1:-1], value, version=6)
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. [::1]:9713")
    elif not _is_host_name(host):
        _check_ip(host, value, version=4)
    return value


def _check_ip(host: str, value: str, *, version: int) -> None:
    try:
        ok = ipaddress.ip_address(host).version == version
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{value!r}: {host!r} is neither an IP address nor a host name; write HOST:PORT, "
            "e.g. 127.0.0.1:9713, [::1]:9713 or noc.example.net:9713"
        )


def _is_host_name(host: str) -> bool:
    """RFC 1123 syntax: dot-separated labels of letters, digits and inner hyphens, at most
    253 characters; the last label not all digits (``999.1.1.1`` is a bad address, not a
    name)."""
    labels = host.removesuffix(".").split(".")
    return (
        len(host) <= 253
        and all(_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def twice(addresses: Iterable[str]) -> str | None:
    """The first email address given again (in any case: one mailbox), as first written; or
    None."""
    seen: dict[str, str] = {}
    for address in addresses:
        if address.casefold() in seen:
            return seen[address.casefold()]
        seen[address.casefold()] = address
    return None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address (user@domain)")
    return value


Address = Annotated[str, Field(min_length=1)]
Email = Annotated[str, AfterValidator(check_email)]
