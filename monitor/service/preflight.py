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


def read_token(path: Path | None, field: str = "http.token_file") -> str | None:
    """The bearer token in the file at ``path`` (stripped), or None; ``field`` names the
    setting in messages."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{field} {path}: cannot read: {reason}") from None
    if len(token) < MIN_TOKEN:
        raise ConfigError(
            f"{field} {path}: token shorter than {MIN_TOKEN} characters; "
            "generate one with `openssl rand -hex 32`"
        )
    return token


def customer_tokens(settings: Settings) -> dict[str, str]:
    """Each customer's sign-in token by customer id (``customers[].token_file``). A token
    equal to the API token or to another customer's is refused: it would sign in as both."""
    try:
        api = read_token(settings.http.token_file)
    except ConfigError:
        api = None  # problems() reports it once
    seen: dict[str, str] = {} if api is None else {api: "the API token (http.token_file)"}
    out = {}
    for n, c in enumerate(settings.customers):
        field = f"customers[{n}].token_file"
        token = read_token(c.token_file, field)
        assert token is not None
        if token in seen:
            raise ConfigError(
                f"{field} {c.token_file}: the same token as {seen[token]}; give each customer "
                "its own (`openssl rand -hex 32`)"
            )
        seen[token] = f"customer {c.id!r}"
        out[c.id] = token
    return out


def token_files(settings: Settings) -> list[tuple[str, Path]]:
    """Every token file the configuration names, with its setting's name."""
    api = settings.http.token_file
    out = [] if api is None else [("http.token_file", api)]
    return out + [(f"customers[{n}].token_file", c.token_file)
                  for n, c in enumerate(settings.customers)]  # fmt: skip


def token_exposure(path: Path | None, field: str = "http.token_file") -> str | None:
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
        what = (
            "change the SLA record through the API"
            if field == "http.token_file"
            else "sign in as that customer"
        )
        return (
            f"{field} {path} is open to {who} (mode {mode:04o}), who can then {what}; "
            "chmod 0600, or 0640 with the daemon's group"
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
    for check in (lambda s: read_token(s.http.token_file), customer_tokens, _relays, _snmp):
        try:
            check(settings)
        except ConfigError as exc:
            found.append(str(exc))
    return found


def preflight(settings: Settings) -> str | None:
    """ConfigError listing every problem :func:`problems` finds; else a warning to show
    (a token file is open to others, see :func:`token_exposure`; one line each) or None."""
    found = problems(settings)
    if found:
        raise ConfigError(f"{settings.source}: {len(found)} error(s)\n  " + "\n  ".join(found))
    exposed = [token_exposure(path, field) for field, path in token_files(settings)]
    return "\n".join(e for e in exposed if e) or None
