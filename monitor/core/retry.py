"""The one retry policy: exponential backoff with a cap and optional jitter.

Used wherever slawatch tries again: a relay that did not take a notice (notify/mailer.py, with
jitter, so a thousand notices do not retry in step) and a journal write the disk refused
(service/writer.py, without: one writer, in order). Pure: the randomness is an argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.core.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Delay before retry ``n`` (0-based): ``min(cap_s, base_s * 2**n)`` seconds, less a random
    part of up to ``jitter`` of it (so 0.5 gives between half and all of it)."""

    base_s: float = 1.0
    cap_s: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s and 0 <= self.jitter <= 1):
            raise ConfigError(
                f"backoff base_s={self.base_s} cap_s={self.cap_s} jitter={self.jitter}: "
                "need 0 < base_s <= cap_s and 0 <= jitter <= 1"
            )

    def delay(self, n: int, rng: Callable[[], float] = lambda: 0.0) -> float:
        """Seconds to wait before retry ``n``; ``rng`` gives a number in [0, 1)."""
        full = min(self.cap_s, self.base_s * 2.0 ** min(n, 62))
        return full * (1.0 - self.jitter * rng())
