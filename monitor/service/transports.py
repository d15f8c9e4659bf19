"""The notice transport the settings ask for: SMTP relays in order, or the local Maildir."""

from __future__ import annotations

from monitor.config import Settings
from monitor.notify.maildir import MaildirSink
from monitor.notify.mailer import Mailer
from monitor.notify.relays import Relay
from monitor.notify.transport import Transport


def build_relays(settings: Settings) -> list[Relay]:
    """The configured relays, passwords resolved now (ConfigError naming the relay if not)."""
    return [Relay.build(**r.model_dump()) for r in settings.notify.smtp]


def build_transport(settings: Settings) -> Transport:
    """SMTP relays tried in order, or the local Maildir when none is configured."""
    if not settings.notify.smtp:
        return MaildirSink(settings.notify.maildir)
    return Mailer(build_relays(settings))
