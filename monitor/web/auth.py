"""Who is asking: sign-in with a token, sessions, and what each viewer may see and do.

Security model
--------------
- The **operator** signs in with the API token (``http.token_file``); a **customer** with its
  own (``customers[].token_file``). Tokens are compared in constant time, every candidate
  every time. A bearer ``Authorization`` header with the API token is the operator too (the
  JSON API and the CLI), without a session.
- A sign-in opens a **session**: a random 256-bit id in a cookie (HttpOnly, SameSite=Strict,
  Path=/, Secure over HTTPS), kept in memory only (a restart signs everyone out), for at most
  :data:`SESSION_TTL_S`, at most :data:`MAX_SESSIONS` at once (the oldest goes first). A
  session remembers a digest of the token it was opened with: once that token is rotated
  (SIGHUP re-reads the files) or its customer removed, the session is void.
- Every form carries a per-session **CSRF token**, compared in constant time; the sign-in
  form, before any session, a random one that must equal a cookie set with the form.
- A customer sees only its own circuits, on every route; any other circuit, and what belongs
  to it, does not exist for it (404, never 403). Customers change nothing.
- With no customer configured, anyone who reaches the port may read (as before the sign-in
  existed: a NOC wall screen needs none); changing still needs the operator. With customers
  configured, reading needs a sign-in (or the API token) on every route but ``/healthz`` and
  the sign-in page itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from monitor.web.exchange import bearer

SESSION_COOKIE = "slawatch_session"
SIGNIN_COOKIE = "slawatch_signin"
SESSION_TTL_S = 12 * 3600
MAX_SESSIONS = 1024
OPERATOR = ""
"""A session's ``who`` for the operator (customers' ids are never empty)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """A customer as the pages know it: ``token`` is the current one from its file."""

    id: str
    name: str
    circuits: frozenset[str]
    token: str


class Role(StrEnum):
    OPERATOR = "operator"
    CUSTOMER = "customer"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """``who``: :data:`OPERATOR` or a customer id; ``expires``: monotonic seconds."""

    id: str
    who: str
    csrf: str
    digest: bytes
    expires: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Viewer:
    role: Role
    customer: Customer | None = None
    session: Session | None = None

    def sees(self, circuit: str) -> bool:
        return self.customer is None or circuit in self.customer.circuits

    @property
    def scope(self) -> list[str] | None:
        """The circuits this viewer may see (None: every one)."""
        return None if self.customer is None else sorted(self.customer.circuits)

    @property
    def operator(self) -> bool:
        return self.role is Role.OPERATOR


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets of any length (both non-empty)."""
    return bool(given) and bool(expected) and hmac.compare_digest(_digest(given), _digest(expected))


class Sessions:
    """Open sessions in memory, bounded in number and age (module docstring)."""

    def __init__(
        self,
        *,
        ttl_s: float = SESSION_TTL_S,
        limit: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._limit, self._clock = ttl_s, limit, clock
        self._open: OrderedDict[str, Session] = OrderedDict()
        self._flash: dict[str, str] = {}

    def open(self, who: str, token: str) -> Session:
        while len(self._open) >= self._limit:
            old, _ = self._open.popitem(last=False)
            self._flash.pop(old, None)
        session = Session(
            id=secrets.token_urlsafe(32),
            who=who,
            csrf=secrets.token_urlsafe(32),
            digest=_digest(token),
            expires=self._clock() + self._ttl,
        )
        self._open[session.id] = session
        return session

    def find(self, sid: str | None) -> Session | None:
        session = self._open.get(sid or "")
        if session is not None and session.expires <= self._clock():
            self.close(session.id)
            return None
        return session

    def close(self, sid: str) -> None:
        self._open.pop(sid, None)
        self._flash.pop(sid, None)

    def flash(self, sid: str, text: str) -> None:
        """A one-line message for the session's next page (what a form did, or why not)."""
        self._flash[sid] = text

    def take_flash(self, sid: str) -> str:
        return self._flash.pop(sid, "")

    def __len__(self) -> int:
        return len(self._open)


class Gate:
    """Resolves who is asking from the current tokens (asked on every request, so a rotated
    token applies at once) and the open sessions."""

    def __init__(
        self,
        token: Callable[[], str | None],
        customers: Callable[[], Sequence[Customer]],
        sessions: Sessions | None = None,
    ) -> None:
        self.token, self.customers = token, customers
        self.sessions = sessions or Sessions()

    @property
    def closed(self) -> bool:
        """Reading needs a sign-in: some customer is configured."""
        return bool(self.customers())

    def sign_in(self, given: str) -> Session | None:
        """A new session for whoever ``given`` is the token of, or None."""
        candidates = [(OPERATOR, self.token()), *((c.id, c.token) for c in self.customers())]
        found = None
        for who, token in candidates:  # every candidate, whatever matched before
            if token is not None and same(given.strip(), token):
                found = (who, token)
        return None if found is None else self.sessions.open(*found)

    def viewer(self, *, session_id: str | None, authorization: str = "") -> Viewer:
        """The operator (API token as a bearer, or an operator session), a customer (its
        session), or anonymous."""
        token = self.token()
        if authorization and token is not None and bearer(authorization, token):
            return Viewer(role=Role.OPERATOR)
        session = self.sessions.find(session_id)
        if session is None:
            return Viewer(role=Role.ANONYMOUS)
        if session.who == OPERATOR:
            if token is not None and hmac.compare_digest(session.digest, _digest(token)):
                return Viewer(role=Role.OPERATOR, session=session)
        else:
            customer = next((c for c in self.customers() if c.id == session.who), None)
            if customer is not None and hmac.compare_digest(
                session.digest, _digest(customer.token)
            ):
                return Viewer(role=Role.CUSTOMER, customer=customer, session=session)
        self.sessions.close(session.id)  # its token was rotated or its customer removed
        return Viewer(role=Role.ANONYMOUS)
