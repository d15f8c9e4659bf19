"""The one clock seam: wall time, aware UTC, for facts customers see (starts, ends, deadlines).

Everything that needs the time takes a :data:`Wall` as an argument and defaults to
:func:`utcnow`, so tests inject their own and nothing else reads the system clock for wall
time (monotonic time, for timeouts and RTTs, is the event loop's or ``time.monotonic``). The
core never reads a clock at all: time is its argument. A leaf: imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Wall = Callable[[], datetime]
"""Returns the wall time, aware UTC."""


def utcnow() -> datetime:
    """The system's wall time, aware UTC."""
    return datetime.now(UTC)
