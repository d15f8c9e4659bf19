"""Relay configuration: passwords from env or file, and the errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.errors import ConfigError
from monitor.notify.mailer import Backoff, Mailer, Relay, TlsMode, resolve_password


def test_password_from_the_environment_is_resolved_and_never_shown() -> None:
    relay = Relay.build(
        host="relay2.example.net", port=587, tls="starttls", username="slawatch",
        password_env="SW_SMTP_PW", environ={"SW_SMTP_PW": "hunter2 x"},
    )  # fmt: skip
    assert relay.password == "hunter2 x"
    assert relay.tls is TlsMode.STARTTLS and relay.name == "relay2.example.net:587"
    assert "hunter2" not in repr(relay) and "hunter2" not in str(relay)


def test_password_from_a_file_loses_its_line_end_only(tmp_path: Path) -> None:
    pw = tmp_path / "smtp.pw"
    pw.write_text(" spaced secret \r\n", encoding="utf-8")
    relay = Relay.build(
        host="r", port=465, tls="implicit", username="u", password_file=pw, name="backup"
    )
    assert relay.password == " spaced secret "
    assert relay.name == "backup"


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"password_env": "SW_MISSING"}, "export SW_MISSING=<SMTP password>"),
        ({"password_file": "/nonexistent/smtp.pw"}, "chmod 600"),
        ({"password_env": "X", "password_file": "/x"}, "not both"),
    ],
)
def test_a_missing_password_is_a_config_error_naming_the_relay_and_fix(
    kwargs: dict[str, str], fix: str
) -> None:
    with pytest.raises(ConfigError, match="relay relay2:587") as err:
        resolve_password("relay2:587", environ={}, **kwargs)
    assert fix in str(err.value)


def test_an_empty_password_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_password("r", password_file=tmp_path / "pw")


def test_no_password_configured_means_no_auth() -> None:
    assert resolve_password("r", environ={}) is None
    assert Relay.build(host="127.0.0.1", port=2525).username is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "u", "tls": TlsMode.STARTTLS}, "set both or neither"),
        ({"password": "p", "tls": TlsMode.STARTTLS}, "set both or neither"),
        ({"username": "u", "password": "p"}, "use tls: starttls"),
        ({"timeout_s": 0}, "timeout_s must be > 0"),
    ],
)
def test_inconsistent_relays_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Relay(host="r", **kwargs)  # type: ignore[arg-type]


def test_mailer_refuses_no_relays_duplicate_names_and_a_bad_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Maildir"):
        Mailer([])
    with pytest.raises(ConfigError, match="give each a name"):
        Mailer([Relay(host="a", port=25), Relay(host="a", port=25)])
    bad = Relay(host="a", tls=TlsMode.IMPLICIT, ca_file=tmp_path / "none.pem")
    with pytest.raises(ConfigError, match="cannot load ca_file"):
        Mailer([bad])


def test_the_issues_config_keys_build_relays(tmp_path: Path) -> None:
    """``notify.smtp`` entries as validated by monitor.config map one to one onto Relay."""
    from monitor.config import SmtpRelayConfig

    pw = tmp_path / "smtp.pw"
    pw.write_text("secret\n", encoding="utf-8")
    entries = [
        {"host": "127.0.0.1", "port": 2525, "tls": "none"},
        {"host": "relay2.example.net", "port": 587, "tls": "starttls", "username": "slawatch",
         "password_file": str(pw)},
    ]  # fmt: skip
    relays = [Relay.build(**SmtpRelayConfig(**e).model_dump()) for e in entries]
    assert [(r.name, r.tls, r.password) for r in relays] == [
        ("127.0.0.1:2525", TlsMode.NONE, None),
        ("relay2.example.net:587", TlsMode.STARTTLS, "secret"),
    ]


def test_bad_tls_mode_and_backoff_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="use one of none, starttls, implicit"):
        Relay.build(host="r", tls="ssl")
    with pytest.raises(ConfigError, match="0 <= jitter <= 1"):
        Backoff(jitter=2.0)
    with pytest.raises(ConfigError, match="base_s <= cap_s"):
        Backoff(base_s=10.0, cap_s=1.0)
