"""Plain HTTP values and input rules shared by the JSON API and the pages, with no aiohttp
(``app.py`` alone speaks aiohttp: it turns a request into a :class:`Request`, and a
:class:`Reply` into a response).

Input rules: ids are 1 to 18 ASCII digits, times within core/bounds.py's years with an offset
(or a page's local time in the circuit's timezone), text is UTF-8 without lone surrogates.
Every refusal is an :class:`HttpError` naming the field.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from monitor.core.bounds import BoundsError, check_time, parse_id
from monitor.core.errors import InputError


class HttpError(Exception):
    """A refusal: ``status`` (4xx), a message naming ``field`` and the fix."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a page handler may read of a request. ``form``: a POST's urlencoded fields;
    ``params``: the route's ``{name}`` parts."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    authorization: str = ""
    accept_language: str = ""
    remote: str = ""
    secure: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Cookie:
    """A cookie to set: always ``HttpOnly; SameSite=Strict; Path=/`` (and ``Secure`` over
    HTTPS); ``max_age`` 0 deletes it, None keeps it for the browser's session."""

    name: str
    value: str
    max_age: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    status: int = 200
    body: str | bytes = b""
    content_type: str = "text/html"
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[Cookie, ...] = ()


def redirect(location: str, *cookies: Cookie) -> Reply:
    """303 See Other to one of our own paths (never a URL a client gave)."""
    assert location.startswith("/") and not location.startswith("//")
    return Reply(status=303, headers=(("Location", location),), cookies=cookies)


def parse_time(text: str | None, field: str, *, day: bool = True) -> datetime | None:
    """ISO 8601 with an offset, or YYYY-MM-DD (midnight UTC: a query's bound; with ``day``
    False, as for a maintenance window, a date alone is refused: whose midnight it means
    moves the window by hours), within core/bounds.py's years; HttpError 400 otherwise."""
    if text is None or text == "":
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(400, f"{text!r} is not an ISO 8601 time", field) from None
    if len(text) == 10 and not day:
        raise HttpError(
            400, f"{text!r} is a date; give the time with its offset, e.g. {text}T00:00+09:00",
            field,
        )  # fmt: skip
    if len(text) == 10:
        at = at.replace(tzinfo=UTC)
    if at.tzinfo is None:
        raise HttpError(400, f"{text!r} has no UTC offset; add one, e.g. +09:00", field)
    return _bounded(at, field)


def parse_query(pairs: Iterable[tuple[str, str]], takes: Iterable[str] = ()) -> dict[str, str]:
    """A JSON route's query as one value per name; HttpError 400 naming a parameter the route
    does not take (a typo would widen the answer) or one given twice (which to take?)."""
    allowed = frozenset(takes)
    out: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            listed = ", ".join(sorted(allowed)) or "none"
            raise HttpError(
                400, f"unknown query parameter {name!r}; this route takes {listed}", name
            )
        if name in out:
            raise HttpError(400, f"query parameter {name!r} given twice; give it once", name)
        out[name] = value
    return out


def check_range(start: datetime | None, end: datetime | None) -> None:
    """HttpError 400 naming ``to`` when the range ``from``..``to`` ends before it starts."""
    if start is not None and end is not None and end < start:
        raise HttpError(
            400,
            f"to {end.isoformat()} is before from {start.isoformat()}; swap them",
            "to",
        )


def parse_local(text: str | None, field: str, tz: tzinfo) -> datetime | None:
    """A form's ``YYYY-MM-DDTHH:MM`` in the circuit's timezone ``tz`` (an offset, if given,
    wins); None when empty; HttpError 400 otherwise."""
    if text is None or not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HttpError(
            400, f"{field}: {text!r} is not a time; write 2026-10-07T10:00", field
        ) from None
    return _bounded(at if at.tzinfo is not None else at.replace(tzinfo=tz), field)


def _bounded(at: datetime, field: str) -> datetime:
    try:
        return check_time(at, field)
    except BoundsError as exc:
        raise HttpError(400, str(exc), field) from None


def text_field(data: Mapping[str, object], field: str, *, required: bool = True) -> str:
    """``data[field]`` as UTF-8 text; HttpError 400 naming it when required and empty."""
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise HttpError(400, f"{field!r} is required and must be a non-empty string", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HttpError(400, f"{field!r} holds a lone surrogate; send UTF-8 text", field) from None
    return value


def parse_int_id(text: str, field: str = "id") -> int:
    """An id of 1 to 18 ASCII digits; HttpError 400 otherwise."""
    try:
        return parse_id(text, field)
    except InputError as exc:
        raise HttpError(400, str(exc), field) from None


def bearer(header: str, token: str) -> bool:
    """RFC 7235: the scheme is case-insensitive. The header may hold any bytes (aiohttp
    keeps undecodable ones as surrogates), so compare bytes, in constant time."""
    scheme, _, given = header.strip().partition(" ")
    secret = given.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(secret, token.encode()) and scheme.lower() == "bearer"
