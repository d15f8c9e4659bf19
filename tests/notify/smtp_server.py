"""A real, scriptable SMTP relay on 127.0.0.1 (aiosmtpd in its own thread) for the notifier.

Each test scripts what the relay answers (``Script``): 4xx at DATA a number of times, 5xx or
4xx for given recipients at RCPT, 5xx for the whole message, a stall before answering DATA.
The relay records every message it accepted (``received``) with its Message-ID, envelope,
whether the session was encrypted and who logged in. ``SilentPort`` accepts TCP connections
and never says a word (a relay that hangs after connect); ``free_port`` finds a port with
nothing listening (a relay that is down).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Cert:
    """A self-signed certificate for localhost and 127.0.0.1 (PEM files)."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> Cert:
        cert, key = directory / "relay.crt", directory / "relay.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return cls(cert=cert, key=key)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@dataclass
class Script:
    """What the relay answers. Change it between deliveries, not during one."""

    tempfail_data: int = 0  # answer 451 to this many DATA commands, then go on
    reject_rcpt: set[str] = field(default_factory=set)  # 550 at RCPT
    defer_rcpt: set[str] = field(default_factory=set)  # 450 at RCPT
    reject_mail: str | None = None  # e.g. "553 5.7.1 sender refused", at MAIL FROM
    reject_data: str | None = None  # e.g. "554 5.6.0 content refused", after the data
    stall_data_s: float = 0.0  # wait this long before answering the data
    stall_for: dict[str, float] = field(default_factory=dict)  # Message-ID -> extra wait
    on_accept: Callable[[Received], None] | None = None
    """Called with each message accepted, right before its 250 goes back (the relay's thread)."""


@dataclass(frozen=True, slots=True)
class Received:
    message_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    tls: bool
    login: str | None
    peer: str = ""
    """The client's address (which NOC host sent it)."""
    at: float = 0.0
    """time.monotonic() when it was accepted."""

    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class Handler:
    """aiosmtpd hooks driven by a ``Script``; runs in the server's thread."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[Received] = []
        self.data_commands = 0
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.script.reject_mail:
            return self.script.reject_mail
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.script.reject_rcpt:
            return "550 5.1.1 no such mailbox"
        if address in self.script.defer_rcpt:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.data_commands += 1
            count = self.data_commands
        if self.script.stall_data_s:
            await asyncio.sleep(self.script.stall_data_s)
        if self.script.stall_for:
            head = email.message_from_bytes(bytes(envelope.original_content))
            await asyncio.sleep(self.script.stall_for.get(str(head["Message-ID"]), 0.0))
        if count <= self.script.tempfail_data:
            return "451 4.3.0 try again later"
        if self.script.reject_data:
            return self.script.reject_data
        content = bytes(envelope.original_content)
        msg = email.message_from_bytes(content, policy=email.policy.default)
        got = Received(
            message_id=str(msg["Message-ID"]),
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=content,
            tls=server.transport.get_extra_info("ssl_object") is not None,
            login=session.auth_data,
            peer=str(session.peer[0]) if session.peer else "",
            at=time.monotonic(),
        )
        self.received.append(got)
        if self.script.on_accept is not None:
            self.script.on_accept(got)
        return f"250 2.0.0 queued as {count}"


class _Users:
    """aiosmtpd authenticator: LOGIN/PLAIN against a dict of user -> password."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)


class SmtpServer:
    """One relay. ``tls``: none, starttls (required before MAIL) or implicit."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = HOST,
        tls: Literal["none", "starttls", "implicit"] = "none",
        cert: Cert | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.script = Script()
        self.handler = Handler(self.script)
        kwargs: dict[str, Any] = {"server_hostname": "localhost", "ready_timeout": 10.0}
        if tls != "none":
            assert cert is not None, "TLS needs a Cert"
        if tls == "starttls":
            assert cert is not None
            kwargs |= {"tls_context": cert.server_context(), "require_starttls": True}
        if tls == "implicit":
            assert cert is not None
            kwargs["ssl_context"] = cert.server_context()
        if users is not None:
            # With implicit TLS aiosmtpd does not know the session is encrypted, so it would
            # hide AUTH; the client insists on TLS anyway (Relay refuses AUTH over none).
            kwargs |= {"authenticator": _Users(users), "auth_require_tls": tls == "starttls"}
        self._controller = Controller(self.handler, hostname=host, port=self.port, **kwargs)
        self.running = False

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self._controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._controller.stop()
            self.running = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentPort:
    """Accepts TCP connections (the kernel does, from the backlog) and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
