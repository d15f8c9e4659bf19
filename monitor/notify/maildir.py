"""The embedded transport: notices into a local Maildir when no SMTP relay is configured.

``make run`` on a fresh machine has no relay, yet should show real notices, timed like real
ones. Each message is written once (whatever the number of recipients) into
``<root>/new`` by the Maildir rule: written and fsynced under ``tmp/``, then linked into
``new/`` under a unique name, so a reader never sees half a message. The envelope
recipients go into an ``X-Slawatch-Envelope-To`` header on top, as a relay would record
them. The acceptance time is when the file was in place.
"""

from __future__ import annotations

import asyncio
import logging
import mailbox
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from monitor.clock import Wall, utcnow
from monitor.notify.transport import (
    AttemptLog,
    DeliveryReport,
    Monotonic,
    Outcome,
    RecipientResult,
    envelope,
)

RELAY_NAME = "maildir"

log = logging.getLogger(__name__)


class MaildirSink:
    """A ``Transport`` writing into the Maildir at ``root`` (created when missing)."""

    def __init__(
        self,
        root: Path = Path("./var/maildir"),
        *,
        wall: Wall = utcnow,
        monotonic: Monotonic = time.monotonic,
        on_attempt: Callable[[AttemptLog], None] | None = None,
    ) -> None:
        self.root = root
        self._wall, self._mono = wall, monotonic
        self._on_attempt = on_attempt

    async def deliver(
        self,
        msg: EmailMessage,
        recipients: Sequence[str],
        *,
        give_up_at: float | None = None,
        left: Callable[[], float] | None = None,
    ) -> DeliveryReport:
        """Write ``msg`` once; every recipient is accepted at the write time, or all stay
        pending (outcome ``write-error``) when the disk refuses. ``give_up_at`` and
        ``left`` are accepted for the ``Transport`` signature: a local write is one
        attempt, which its caller begins only when it may."""
        mid, rcpts = envelope(msg, recipients)
        started, t0 = self._wall(), self._mono()
        try:
            key = await asyncio.to_thread(self._write, msg, rcpts)
        except (OSError, mailbox.Error) as exc:
            ok, reply = False, f"cannot write to {self.root}: {exc}"
            log.warning("maildir: %s not delivered: %s (check notify.maildir: the daemon's "
                        "user must be able to create and write it)", mid, reply)  # fmt: skip
        else:
            ok, reply = True, f"written to {self.root / 'new' / key}"
        at = self._wall()
        attempt = AttemptLog(
            relay=RELAY_NAME,
            recipients=rcpts,
            started=started,
            finished=at,
            elapsed_s=max(self._mono() - t0, 0.0),
            outcome=Outcome.ACCEPTED if ok else Outcome.WRITE_ERROR,
            code=None,
            reply=reply,
        )
        if self._on_attempt is not None:
            self._on_attempt(attempt)
        results = tuple(
            RecipientResult(
                recipient=r,
                relay=RELAY_NAME,
                accepted=ok,
                at=at if ok else None,
                code=None,
                reply=reply,
                permanent=False,
            )
            for r in rcpts
        )
        return DeliveryReport(message_id=mid, results=results, attempts=(attempt,))

    async def close(self) -> None:
        """Nothing to release: each delivery opens and closes its own files."""

    def _write(self, msg: EmailMessage, rcpts: tuple[str, ...]) -> str:
        for sub in ("tmp", "new", "cur"):  # Maildir(create=True) would not make parents
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        box = mailbox.Maildir(self.root, create=False)
        top = f"X-Slawatch-Envelope-To: {', '.join(rcpts)}\n".encode()
        return box.add(top + msg.as_bytes())
