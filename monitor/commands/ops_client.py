"""How the day-to-day commands reach slawatch: the running daemon's API, or else the journal.

Both ways answer with the same JSON shapes, because both are the service's :class:`Backend`:
over HTTP it runs inside the daemon; offline it runs here over a supervisor resumed read-only
from the journal (service/offline.py: nothing probed, nothing sent, no start recorded). So a
figure printed by ``slawatch incidents`` is the figure of ``GET /api/incidents``, whichever way
it came.

Writes (maintenance, exclusions) go through the API when the daemon is up, so it applies them
at once; offline they go into the journal, and the daemon reads them when it next starts.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from monitor.config import Settings
from monitor.core.errors import ConfigError, InputError, MonitorError
from monitor.core.location import is_postgres
from monitor.service.backend import Backend
from monitor.service.offline import Offline
from monitor.store.owner import Held, holder, writing

T = TypeVar("T")


class ApiOps:
    """The running daemon's JSON API at ``base`` (e.g. http://127.0.0.1:9713)."""

    via = "api"

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base.rstrip("/")
        self.token = token

    @classmethod
    def probe(cls, settings: Settings, timeout: float = 1.0) -> ApiOps | None:
        """An ApiOps if the configured daemon answers /healthz (healthy or not), else None."""
        host, port = settings.http.host_port
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=timeout):
                pass
        except urllib.error.HTTPError:
            pass  # 503: up but unhealthy (stale probes): its API still answers
        except (urllib.error.URLError, OSError):
            return None
        from monitor.service.preflight import read_token

        return cls(base, read_token(settings.http.token_file))

    def where(self) -> str:
        """What ``slawatch: via ...`` names: the daemon's API."""
        return self.base

    def close(self) -> None:
        """Nothing to release: each call is its own HTTP request."""

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if method != "GET" and self.token is None:
            raise ConfigError(
                "the daemon is running, and changes go through its API: set http.token_file "
                "in the configuration (the same file the daemon reads)"
            )
        if self.token is not None:  # reads need it too once customers are configured
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            if exc.code == 404:
                return None
            raise InputError(f"daemon API {method} {path}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise MonitorError(f"daemon API at {self.base} stopped answering: {exc}") from None

    def circuits(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/circuits"))

    def cluster(self) -> dict[str, Any] | None:
        """The NOC hosts (None from a daemon too old to say)."""
        found: dict[str, Any] | None = self._call("GET", "/api/cluster")
        return found

    def incidents(self, circuit: str | None, since: datetime | None) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(
            {k: v for k, v in (("circuit", circuit), ("from", since and since.isoformat())) if v}
        )
        return list(self._call("GET", f"/api/incidents?{query}"))

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._call("GET", f"/api/incidents/{incident_id}")
        return found

    def maintenance(self, circuit: str | None) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"circuit": circuit} if circuit else {})
        return list(self._call("GET", f"/api/maintenance?{query}"))

    def add_maintenance(
        self,
        circuit: str,
        start: datetime,
        end: datetime,
        note: str,
        announced_at: datetime | None,
        by: str,
    ) -> dict[str, Any]:
        body = {
            "circuit": circuit,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "note": note,
            "by": by,
        }
        if announced_at is not None:
            body["announced_at"] = announced_at.isoformat()
        return dict(self._call("POST", "/api/maintenance", body))

    def remove_maintenance(self, window_id: int) -> dict[str, Any]:
        found = self._call("DELETE", f"/api/maintenance/{window_id}")
        if found is None:
            raise InputError(f"no announced maintenance window {window_id}")
        return dict(found)

    def exclude(self, incident_id: int, reason: str) -> dict[str, Any]:
        found = self._call("POST", f"/api/incidents/{incident_id}/exclude", {"reason": reason})
        if found is None:
            raise InputError(f"no incident {incident_id}")
        return dict(found)

    def withdraw_exclusion(self, incident_id: int, reason: str) -> dict[str, Any]:
        found = self._call(
            "POST", f"/api/incidents/{incident_id}/exclude/withdraw", {"reason": reason}
        )
        if found is None:
            raise InputError(f"no incident {incident_id}")
        return dict(found)


class JournalOps:
    """The same questions answered from the journal file, with no daemon running."""

    via = "journal"

    def __init__(self, settings: Settings, *, forced: bool = False) -> None:
        """``forced``: ``--via journal`` (the daemon's API was not asked)."""
        path = settings.journal
        if not is_postgres(path) and not Path(path).exists():
            raise ConfigError(
                f"{settings.source}: journal {path} does not exist and no daemon answers at "
                f"{settings.http.listen}: is this the daemon's configuration? (relative paths "
                "are relative to the directory you run slawatch in)"
            )
        self.settings, self.forced = settings, forced
        self._runner = asyncio.Runner()
        self._offline: Offline | None = None

    def _run(self, fn: Callable[[Backend], Awaitable[T]]) -> T:
        """Run ``fn(backend)`` on one event loop; the journal is opened and the state restored
        once per command, however many questions it asks."""
        return self._runner.run(self._ask(fn))

    async def _ask(self, fn: Callable[[Backend], Awaitable[T]]) -> T:
        if self._offline is None:
            s = self.settings
            self._offline = await Offline.open(
                s.plan(), s.journal, password_file=s.journal_password_file
            )
        return await fn(self._offline.backend)

    def where(self) -> str:
        """What ``slawatch: via ...`` names: the journal, and whether a daemon runs on it."""
        s = self.settings
        if is_postgres(s.journal):  # shared by NOC hosts: no lock here tells of them
            return f"journal {s.journal} (read directly: {self._unasked()})"
        held = holder(Path(s.journal))
        if held is None:
            return f"journal {s.journal} (no daemon runs on it)"
        return f"journal {s.journal} (read directly: {held} runs on it, {self._unasked()})"

    def _unasked(self) -> str:
        """Why the daemon's API was not used: not asked (``--via journal``), or silent."""
        listen = self.settings.http.listen
        return "not asked: --via journal" if self.forced else f"not answering at {listen}"

    def close(self) -> None:
        if self._offline is not None:
            self._runner.run(self._offline.close())
            self._offline = None
        self._runner.close()

    def circuits(self) -> list[dict[str, Any]]:
        return self._run(lambda b: b.circuits())

    def cluster(self) -> dict[str, Any] | None:
        return self._run(lambda b: b.cluster())

    def incidents(self, circuit: str | None, since: datetime | None) -> list[dict[str, Any]]:
        return self._run(lambda b: b.incidents(circuit, since, None))

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        return self._run(lambda b: b.incident(incident_id))

    def maintenance(self, circuit: str | None) -> list[dict[str, Any]]:
        return self._run(lambda b: b.maintenance(circuit))

    def add_maintenance(
        self,
        circuit: str,
        start: datetime,
        end: datetime,
        note: str,
        announced_at: datetime | None,
        by: str,
    ) -> dict[str, Any]:
        return self._change(
            lambda b: b.add_maintenance(
                circuit, start, end, note, "cli", announced_at=announced_at, by=by
            )
        )

    def remove_maintenance(self, window_id: int) -> dict[str, Any]:
        return self._change(lambda b: b.remove_maintenance(window_id))

    def exclude(self, incident_id: int, reason: str) -> dict[str, Any]:
        return self._change(lambda b: b.exclude(incident_id, reason))

    def withdraw_exclusion(self, incident_id: int, reason: str) -> dict[str, Any]:
        return self._change(lambda b: b.withdraw_exclusion(incident_id, reason))

    def _change(self, fn: Callable[[Backend], Awaitable[T]]) -> T:
        """A change, written to the journal: refused while a daemon runs on a journal file
        (owner.py) without answering on its API (busy, or paused): it reads changes from
        the journal only when it starts, so this one would not count until then. The file
        is held shared meanwhile, so a daemon starting waits for the write."""
        s = self.settings
        if is_postgres(s.journal):
            return self._run(fn)
        try:
            with writing(Path(s.journal)):
                return self._run(fn)
        except Held as held:
            if self.forced:
                raise MonitorError(
                    f"{s.journal}: {held} runs on this journal: a change written to it would "
                    "not reach the daemon until its next start; nothing was changed. Make "
                    "the change through its API (without --via journal)"
                ) from None
            raise MonitorError(
                f"{s.journal}: {held} runs on this journal but did not answer at "
                f"{s.http.listen} within 1 s (busy, or paused?): a change written to the "
                "journal would not reach it until its next start; nothing was changed. Try "
                "again in a moment; if it goes on, look at the daemon (its log, its load)"
            ) from None


Ops = ApiOps | JournalOps


def connect(settings: Settings, mode: str = "auto") -> Ops:
    """``auto``: the API if the daemon answers, else the journal; or force ``api``/``journal``."""
    if mode in ("auto", "api"):
        api = ApiOps.probe(settings)
        if api is not None:
            return api
        if mode == "api":
            raise MonitorError(f"no daemon answers at {settings.http.listen}")
    return JournalOps(settings, forced=mode == "journal")
