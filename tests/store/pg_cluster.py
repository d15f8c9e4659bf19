"""A real PostgreSQL cluster for the tests: ``initdb`` in a temporary directory as an
unprivileged user (``postgres`` when the tests run as root: initdb refuses root), ``pg_ctl``
with its own Unix socket directory and a free TCP port on 127.0.0.1, stopped and removed at
the end.

The cluster is shaped like a NOC's: TCP logins need a password (scram-sha-256) and the store
logs in as the role ``slawatch``, which owns its database and nothing else; the tests' own
administration (create and drop databases, poke a table) goes through ``psql`` as the
superuser over the socket. One cluster serves a whole test session (:func:`shared`); each
test gets a fresh database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path

from tests.support import free_port, skip_or_fail

ROLE = "slawatch"
ADMIN = "admin"
FAKETIME_LIBS = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
"""Debian's libfaketime (package faketime), for a server whose clock is off."""


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's server programs (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def unavailable() -> str | None:
    """Why no cluster can be started here, or None."""
    if bin_dir() is None:
        return "PostgreSQL is not installed (Debian package postgresql; `make apt`)"
    if shutil.which("psql") is None:
        return "psql is not installed (Debian package postgresql-client)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no user postgres to run the cluster as (Debian package postgresql makes it)"
    return None


class PgCluster:
    """One running cluster; see the module docstring."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.sock = root / "sock"
        self.log = root / "server.log"
        self.port = 0
        self.password = secrets.token_hex(12)
        self.password_file = root / "password"
        self.timings: dict[str, float] = {}
        self._env = env or {}
        self._names = count(1)
        self._bin = bin_dir() or Path("/nonexistent")

    @classmethod
    def start(cls, *, faketime: str | None = None) -> PgCluster:
        """initdb and start a cluster (``faketime``: run the server's clock off by this
        libfaketime offset, e.g. ``"-1h"``); skip (fail in CI) where it cannot run."""
        reason = unavailable()
        if reason is None and faketime and not FAKETIME_LIBS:
            reason = "libfaketime is not installed (Debian package faketime; `make apt`)"
        if reason:
            skip_or_fail(reason)
        root = Path(tempfile.mkdtemp(prefix="slawatch-pg-", dir="/tmp"))
        env = {} if faketime is None else _faketime_env(faketime)
        cluster = cls(root, env)
        try:
            cluster._init()
            cluster._first_start()
            cluster._add_role()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    # -- life ----------------------------------------------------------------------------------
    def _init(self) -> None:
        began = time.monotonic()
        self.root.chmod(0o755)
        self.sock.mkdir()
        self.log.touch()
        for path in (self.root, self.sock, self.log):
            self._own(path)
        self._run(
            "initdb", "-D", str(self.data), "-U", ADMIN, "--no-locale", "--encoding=UTF8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        self.password_file.write_text(self.password + "\n")
        self.password_file.chmod(0o600)
        self.timings["initdb_s"] = time.monotonic() - began

    def _first_start(self) -> None:
        """Start on a free port, trying another if the one picked was taken meanwhile."""
        for _ in range(5):
            self.port = free_port()
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write(
                    f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.sock}'\n"
                )
            try:
                self.start_again()
                return
            except subprocess.CalledProcessError:
                if "could not bind" not in self.log.read_text(errors="replace"):
                    raise
        raise RuntimeError(f"no free port for PostgreSQL; see {self.log}")

    def start_again(self) -> None:
        """Start the (stopped) server; returns once it accepts connections."""
        began = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.timings["start_s"] = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server (fast: sessions are cut, as in a failover or a restart)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60",
            "restart",
        )  # fmt: skip

    def remove(self) -> None:
        """Stop the server if it runs and delete everything."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------
    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def create_database(self, owner: str = ROLE) -> str:
        """A new, empty database owned by ``owner``; its name."""
        name = f"journal_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} OWNER {owner}")
        return name

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the socket; its output (unaligned, tuples only)."""
        done = subprocess.run(
            ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock), "-p",
             str(self.port), "-U", ADMIN, "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, env=_clean_env(),
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"psql {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    # -- helpers ---------------------------------------------------------------------------------
    def _add_role(self) -> None:
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'")

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        """A server program, as the cluster's user; its output goes to the server log."""
        root = os.geteuid() == 0  # initdb refuses root: run as postgres
        with self.log.open("a") as log:
            subprocess.run(
                [str(self._bin / tool), *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=check, timeout=120,
                env={**_clean_env(), **self._env}, user="postgres" if root else None,
                group="postgres" if root else None, extra_groups=[] if root else None,
            )  # fmt: skip


def _clean_env() -> dict[str, str]:
    """The environment without libpq's PG* variables (a developer's PGHOST must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, "LC_ALL": "C"}


def _faketime_env(offset: str) -> dict[str, str]:
    return {
        "LD_PRELOAD": str(FAKETIME_LIBS[0]),
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


_shared: PgCluster | None = None


def shared() -> PgCluster:
    """The session's cluster, started on first use (stopped by :func:`stop_shared`)."""
    global _shared
    if _shared is None:
        _shared = PgCluster.start()
    return _shared


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.remove()
        _shared = None
