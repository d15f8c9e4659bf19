"""A log line that may repeat many times a second says so once per period, with a count."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimited:
    """``error(...)``/``warning(...)`` at most once per ``every_s`` (monotonic seconds); the
    next line says how many were held back."""

    def __init__(
        self, log: logging.Logger, every_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log, self._every, self._clock = log, every_s, clock
        self._last: float | None = None
        self._held = 0

    def error(self, msg: str, *args: object) -> None:
        self._emit(logging.ERROR, msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._emit(logging.WARNING, msg, args)

    def _emit(self, level: int, msg: str, args: tuple[object, ...]) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self._every:
            self._held += 1
            return
        held, self._held, self._last = self._held, 0, now
        suffix = f" ({held} more like it in the last {self._every:g} s)" if held else ""
        self._log.log(level, msg + suffix, *args)
