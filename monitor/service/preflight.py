"""What ``slawatch run`` reads before it starts, beyond the YAML: the API token, the SMTP
relays' passwords and CA files, the SNMP secrets and the time-stamp authority's CA file.
``run`` and ``check-config`` call the same :func:`problems`, so a configuration that passes
``check-config`` does not stop ``run`` for a missing file or variable (issue 10, item 9).
``check-config`` also loads ``evidence.key_file``, which only ``slawatch evidence`` reads.
Secrets are read, never printed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from functools import partial
from pathlib import Path

from monitor.config import Settings, SmtpRelayConfig, read_secret
from monitor.core.errors import ConfigError, InputError

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


def _relay(relay: SmtpRelayConfig) -> None:
    """The relay's password, and its TLS context as the Mailer builds it (``ca_file``)."""
    from monitor.notify.relays import Relay, TlsMode, tls_context

    built = Relay.build(**relay.model_dump())
    if built.tls is not TlsMode.NONE:
        tls_context(built)


def _tsa_ca(settings: Settings) -> None:
    """The authority's root certificates, as the hourly time-stamp job loads them."""
    if (path := settings.evidence.tsa_ca_file) is not None:
        from monitor.evidence.crypto import certificates  # cryptography only when configured

        _loaded(certificates, path)


def _signing_key(settings: Settings) -> None:
    """The claim packs' signing key, as ``slawatch evidence`` loads it."""
    if (path := settings.evidence.key_file) is not None:
        from monitor.evidence.crypto import load_private

        _loaded(load_private, path)


def _loaded(load: Callable[[Path], object], path: Path) -> None:
    """``load(path)``, its InputError as a ConfigError (a file the configuration names)."""
    try:
        load(path)
    except InputError as exc:
        raise ConfigError(str(exc)) from None


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


def problems(settings: Settings, *, signing_key: bool = False) -> list[str]:
    """Each file or secret ``run`` would fail to read or load, as the message that names it
    and the fix; with ``signing_key``, ``evidence.key_file`` too (``check-config``)."""
    checks: list[Callable[[], object]] = [
        lambda: read_token(settings.http.token_file),
        lambda: customer_tokens(settings),
        *(partial(_relay, r) for r in settings.notify.smtp),
        lambda: _snmp(settings),
        lambda: _tsa_ca(settings),
    ]
    if signing_key:
        checks.append(lambda: _signing_key(settings))
    found = []
    for check in checks:
        try:
            check()
        except ConfigError as exc:
            found.append(str(exc))
    return found


def preflight(settings: Settings, *, signing_key: bool = False) -> str | None:
    """ConfigError listing every problem :func:`problems` finds; else a warning to show
    (a token file is open to others, see :func:`token_exposure`; one line each) or None."""
    found = problems(settings, signing_key=signing_key)
    if found:
        raise ConfigError(f"{settings.source}: {len(found)} error(s)\n  " + "\n  ".join(found))
    exposed = [token_exposure(path, field) for field, path in token_files(settings)]
    return "\n".join(e for e in exposed if e) or None
