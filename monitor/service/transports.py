"""The notice transport the settings ask for: SMTP relays in order, or the local Maildir."""

from __future__ import annotations

from collections.abc import Callable

from monitor.clock import Wall, utcnow
from monitor.config import Settings
from monitor.notify.maildir import MaildirSink
from monitor.notify.mailer import Mailer
from monitor.notify.relays import Relay
from monitor.notify.transport import AttemptLog, Transport


def build_relays(settings: Settings) -> list[Relay]:
    """The configured relays, passwords resolved now (ConfigError naming the relay if not)."""
    return [Relay.build(**r.model_dump()) for r in settings.notify.smtp]


def build_transport(
    settings: Settings,
    wall: Wall = utcnow,
    on_attempt: Callable[[AttemptLog], None] | None = None,
) -> Transport:
    """SMTP relays tried in order, or the local Maildir when none is configured. ``wall``
    stamps acceptances: the daemon's own clock, so detection and notification compare.
    ``on_attempt`` sees every attempt as it ends (metrics), not when a delivery gives up."""
    if not settings.notify.smtp:
        return MaildirSink(settings.notify.maildir, wall=wall, on_attempt=on_attempt)
    return Mailer(build_relays(settings), wall=wall, on_attempt=on_attempt)
