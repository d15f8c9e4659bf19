"""Reading times people and files write: one parser for every entry point (API, CLI, events).

An instant is ISO 8601 with a UTC offset (``2026-10-05T01:00:00+09:00``); a naive time is
refused, never guessed. Where a day is enough (``--since``, ``?from=``), ``YYYY-MM-DD`` means
that day's midnight in a stated timezone. Every instant is checked against the sane bounds
(core/bounds.py). Errors are :class:`InputError` naming ``what`` (the field or the flag).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

from monitor.core.bounds import check_time
from monitor.core.errors import InputError

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_instant(text: str, what: str, *, bounded: bool = True) -> datetime:
    """``text`` as an aware instant (its offset kept); InputError naming ``what`` when it is
    not ISO 8601 or has no offset, or (``bounded``) lies outside the sane years. A caller that
    checks a whole window itself (core/bounds.check_window) passes ``bounded=False``."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not an ISO 8601 time like 2026-10-05T01:00:00+09:00", what
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{what} {text!r} has no UTC offset; add one, e.g. +09:00", what)
    return check_time(at, what) if bounded else at


def parse_day(text: str, what: str, tz: tzinfo) -> datetime:
    """``YYYY-MM-DD`` as that day's midnight in ``tz``, else :func:`parse_instant`."""
    if not _DAY.fullmatch(text):
        return parse_instant(text, what)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date like 2026-10-01", what) from None
    return check_time(datetime.combine(day, time(0), tz), what)
