"""What ``slawatch run`` reads before it starts, beyond the YAML: the API token, the SMTP
relays' passwords and the SNMP secrets. ``run`` and ``check-config`` call the same
:func:`problems`, so a configuration that passes ``check-config`` does not stop ``run`` for a
missing file or variable (issue 10, item 9). Secrets are read, never printed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from monitor.config import Settings, read_secret
from monitor.core.errors import ConfigError

MIN_TOKEN = 16


def read_token(path: Path | None) -> str | None:
    """The API bearer token from ``http.token_file`` (the file, stripped), or None."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"http.token_file {path}: cannot read: {reason}") from None
    if len(token) < MIN_TOKEN:
        raise ConfigError(
            f"http.token_file {path}: token shorter than {MIN_TOKEN} characters; "
            "generate one with `openssl rand -hex 32`"
        )
    return token


def token_exposure(path: Path | None) -> str | None:
    """Why the token file is too open, or None: readable or writable by other users, or by
    a group the daemon is not in (0640 with the daemon's group is what deploy/ installs)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None  # read_token says why
    mode = stat.S_IMODE(st.st_mode)
    ours = st.st_gid == os.getegid() or st.st_gid in os.getgroups()
    if mode & 0o006 or (mode & 0o060 and not ours):
        who = "every user on this host" if mode & 0o006 else f"group {st.st_gid}"
        return (
            f"http.token_file {path} is open to {who} (mode {mode:04o}), who can then change "
            "the SLA record through the API; chmod 0600, or 0640 with the daemon's group"
        )
    return None


def snmp_wanted(settings: Settings) -> bool:
    """SNMP runs when a circuit names a router or the trap receiver is configured."""
    return settings.snmp_traps is not None or any(c.routers for c in settings.circuits)


def _relays(settings: Settings) -> None:
    from monitor.service.transports import build_relays

    build_relays(settings)


def _snmp(settings: Settings) -> None:
    if not snmp_wanted(settings):
        return
    from monitor.service.snmp_watch import plans, trap_user  # pysnmp only when configured

    plans(settings)
    traps = settings.snmp_traps
    if traps is not None:
        if traps.community is not None:
            read_secret(traps.community, "snmp_traps.community")
        for n, u in enumerate(traps.users):
            trap_user(u, f"snmp_traps.users[{n}]")


def problems(settings: Settings) -> list[str]:
    """Each secret ``run`` would fail to read, as the message that names it and the fix."""
    found = []
    for check in (lambda s: read_token(s.http.token_file), _relays, _snmp):
        try:
            check(settings)
        except ConfigError as exc:
            found.append(str(exc))
    return found


def preflight(settings: Settings) -> str | None:
    """ConfigError listing every problem :func:`problems` finds; else a warning to show
    (the token file is open to others, see :func:`token_exposure`) or None."""
    found = problems(settings)
    if found:
        raise ConfigError(f"{settings.source}: {len(found)} error(s)\n  " + "\n  ".join(found))
    return token_exposure(settings.http.token_file)
