"""The daemon's log: one line per record on stderr, with repeats held back.

A fault that repeats in a tight loop must not bury the log (issue 10: 175,059 tracebacks,
78 MB, in 45 s while descriptors ran out). :class:`RepeatFilter` lets through the first
``burst`` records with the same text from the same logger at the same level in each
``window_s``, and counts the rest; the first such record after the window says how many
were held back. Different texts are never held back: a regional outage that opens 100
incidents logs 100 lines.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(slots=True)
class _Seen:
    since: float
    count: int = 0
    held: int = 0


class RepeatFilter(logging.Filter):
    """At most ``burst`` identical records per ``window_s`` (monotonic ``clock``)."""

    def __init__(
        self,
        burst: int = 5,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        keep: int = 1000,
    ) -> None:
        super().__init__()
        self.burst, self.window_s, self.clock, self.keep = burst, window_s, clock, keep
        self._seen: dict[tuple[str, int, str], _Seen] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        try:
            text = record.getMessage()
        except Exception:  # a bad format: the handler reports it, the filter must not raise
            text = str(record.msg)
        key = (record.name, record.levelno, text)
        seen = self._seen.get(key)
        if seen is None or now - seen.since >= self.window_s:
            held = seen.held if seen is not None else 0
            self._forget(now)
            self._seen[key] = seen = _Seen(since=now)
            if held:
                record.msg = (
                    f"{text} [{held} more like this in the previous {self.window_s:g} s not logged]"
                )
                record.args = None
        seen.count += 1
        if seen.count > self.burst:
            seen.held += 1
            return False
        return True

    def _forget(self, now: float) -> None:
        """Drops kinds whose window is over once many are kept (a long run logs many texts)."""
        if len(self._seen) >= self.keep:
            self._seen = {k: v for k, v in self._seen.items() if now - v.since < self.window_s}


def configure(level: str) -> None:
    """Root logging to stderr at ``level``, repeats held back, APScheduler's chatter off."""
    logging.basicConfig(level=level, stream=sys.stderr, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatFilter())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line a job run is noise
