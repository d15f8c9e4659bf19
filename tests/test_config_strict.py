"""The configuration takes what it says and nothing else (issue 10, items 4 and 9).

Duplicate keys are refused with their line, numbers and booleans must be written as such,
maintenance windows lie within sane dates, a probe's timeout fits in its interval, and
``check-config`` reads every secret ``run`` reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config
from monitor.cli import main
from monitor.core.errors import ConfigError
from monitor.evidence.crypto import keygen
from monitor.service.preflight import preflight
from tests.notify.smtp_server import Cert

ISSUE2 = Path(__file__).parent / "fixtures" / "issue2.yaml"


def data() -> dict[str, Any]:
    loaded = yaml.safe_load(ISSUE2.read_text())
    assert isinstance(loaded, dict)
    return loaded


def refused(value: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        config.parse(value, "test.yaml")
    return str(caught.value)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


# -- duplicate keys ---------------------------------------------------------------------------
def test_a_second_circuits_key_is_refused_with_its_line(tmp_path: Path) -> None:
    text = ISSUE2.read_text()
    second = "circuits:\n  - id: er-other\n"
    path = write(tmp_path, text + second)
    line = text.count("\n") + 1
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert "duplicate key 'circuits'" in message and f"line {line}" in message, message


def test_a_duplicate_key_inside_a_circuit_is_refused(tmp_path: Path) -> None:
    text = ISSUE2.read_text().replace(
        "    monthly_fee_yen: 300000\n",
        "    monthly_fee_yen: 300000\n    monthly_fee_yen: 30000\n",
    )
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text))
    assert "duplicate key 'monthly_fee_yen'" in str(caught.value)


def test_merge_keys_still_work(tmp_path: Path) -> None:
    """``<<: *anchor`` with an override is YAML's own way to repeat keys; it stays allowed."""
    text = ISSUE2.read_text().replace(
        "control_targets:", "defaults: &d {probe: icmp}\ncontrol_targets:", 1
    )
    text = text.replace(
        "{router: active,  demarc: primary,   address: 198.18.1.2}",
        "{<<: *d, router: active, demarc: primary, address: 198.18.1.2, probe: icmp}",
    )
    with pytest.raises(ConfigError) as caught:  # only the stray top-level key is wrong
        config.load(write(tmp_path, text))
    assert "defaults: unknown key" in str(caught.value)
    assert "duplicate" not in str(caught.value)


# -- the file itself --------------------------------------------------------------------------
def test_a_file_that_is_not_utf8_is_a_config_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Latin-1 comment ended check-config and run in a UnicodeDecodeError traceback, and a
    SIGHUP reload in asyncio's "Exception in callback" (tests/service/test_token_file.py)."""
    path = tmp_path / "config.yaml"
    path.write_bytes(ISSUE2.read_bytes() + b"# caf\xe9\n")
    line = ISSUE2.read_text().count("\n") + 1
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not UTF-8 text") and f"line {line}" in message, message
    assert main(["check-config", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n"])
def test_an_empty_file_is_called_empty(tmp_path: Path, text: str) -> None:
    """It said "the file must hold a mapping of keys", which an empty file does not hint at."""
    with pytest.raises(ConfigError, match=r"config\.yaml: the file is empty"):
        config.load(write(tmp_path, text))
    with pytest.raises(ConfigError, match="must hold a mapping of keys"):
        config.load(write(tmp_path, "- circuits\n"))


# -- strict types -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("fail_after",), True, "fail_after"),  # YAML `yes`
        (("recover_after",), "2", "recover_after"),
        (("probe_interval_s",), "1", "probe_interval_s"),
        (("circuits", 0, "monthly_fee_yen"), "300000", "circuits[0].monthly_fee_yen"),
        (("circuits", 0, "monthly_fee_yen"), 300000.0, "circuits[0].monthly_fee_yen"),
        (("circuits", 0, "maintenance", 0, "start"), 1790000000, "maintenance[0].start"),
    ],
)
def test_numbers_and_booleans_are_not_guessed(
    path: tuple[Any, ...], value: Any, where: str
) -> None:
    d = data()
    target = d
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert where in refused(d)


def test_smtp_port_and_verify_must_be_a_number_and_a_boolean() -> None:
    d = data()
    d["notify"] = {"smtp": [{"host": "relay", "port": "25"}]}
    assert "notify.smtp[0].port" in refused(d)
    d["notify"] = {"smtp": [{"host": "relay", "verify": "no"}]}
    assert "notify.smtp[0].verify" in refused(d)


@pytest.mark.parametrize(
    ("where", "value", "located"),
    [
        ("contacts", ["noc.example.com"], "circuits[0].contacts[0].address"),
        ("noc", ["noc at example.com"], "notify.noc[0]"),
        ("from", "slawatch", "notify.from"),
    ],
)
def test_an_email_address_that_is_none_says_so(where: str, value: Any, located: str) -> None:
    """It said "String should match pattern '^[^@\\s]+@[^@\\s]+$'"."""
    d = data()
    if where == "contacts":
        d["circuits"][0]["contacts"] = value
    else:
        d["notify"] = {where: value}
    message = refused(d)
    assert f"{located}: " in message and "is not an email address (user@domain)" in message
    assert "pattern" not in message, message


def test_an_ipv4_mapped_ipv6_address_is_refused_with_the_ipv4_form() -> None:
    d = data()
    d["circuits"][0]["paths"][0]["address"] = "::ffff:127.0.0.5"
    message = refused(d)
    assert "circuits[0].paths[0].address" in message and "127.0.0.5" in message
    d = data()
    d["control_targets"][0]["address"] = "::ffff:7f00:1"
    assert "write 127.0.0.1" in refused(d)


# -- numbers are finite and bounded -------------------------------------------------------------
@pytest.mark.parametrize("timeout", [".inf", "1.0e+9"])
def test_a_relay_timeout_is_bounded_as_http_s_is(tmp_path: Path, timeout: str) -> None:
    """``.inf`` hung ``notify-test`` (and the daemon's delivery) on a relay that accepts the
    connection and says nothing: the next relay was never tried."""
    d = data()
    d["notify"] = {"smtp": [{"host": "relay", "timeout_s": 10.0}]}
    text = yaml.safe_dump(d).replace("timeout_s: 10.0", f"timeout_s: {timeout}")
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text))
    assert "notify.smtp[0].timeout_s" in str(caught.value), caught.value


@pytest.mark.parametrize(
    ("key", "value"),
    [("probe_interval_s", ".nan"), ("probe_timeout_s", ".inf"), ("probe_interval_s", "-.inf")],
)
def test_a_number_that_is_not_finite_is_named_so(tmp_path: Path, key: str, value: str) -> None:
    """``probe_interval_s: .nan`` said "less than or equal to 3600", which it is not wrong
    about but which sends the reader looking for a large number."""
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, ISSUE2.read_text() + f"{key}: {value}\n"))
    message = str(caught.value)
    assert f"{key}: must be a finite number" in message and "less than" not in message, message


# -- a listening address names its host --------------------------------------------------------
@pytest.mark.parametrize(
    ("listen", "says"),
    [
        (":19861", "write 0.0.0.0:19861 explicitly"),  # bound every interface
        ("999.1.1.1:19801", "neither an IP address nor a host name"),  # run failed after start
        ("-noc.example.net:9713", "neither an IP address nor a host name"),
        ("::1:9713", "in brackets, e.g. [::1]:9713"),
        ("127.0.0.1", "write HOST:PORT"),
    ],
)
def test_http_listen_needs_an_explicit_valid_host(listen: str, says: str) -> None:
    d = data()
    d["http"] = {"listen": listen}
    message = refused(d)
    assert "http.listen" in message and says in message, message


@pytest.mark.parametrize(
    "listen", ["0.0.0.0:9713", "[::1]:9713", "localhost:9713", "noc-1.example.net.:9713"]
)
def test_http_listen_takes_an_address_or_a_host_name(listen: str) -> None:
    d = data()
    d["http"] = {"listen": listen}
    assert config.parse(d).http.listen == listen


def test_the_trap_receiver_s_listen_needs_its_host_too() -> None:
    d = data()
    d["snmp_traps"] = {"listen": ":162", "community": {"env": "SLAWATCH_COMMUNITY"}}
    assert "snmp_traps.listen" in refused(d)


# -- copy-paste mistakes ----------------------------------------------------------------------
def test_two_icmp_paths_of_a_circuit_at_one_address_are_refused() -> None:
    """Four router x demarc paths all probing 198.18.1.2 passed: the circuit was then "down"
    whenever that one host was, and no path's own state was measured."""
    d = data()
    d["circuits"][0]["paths"][3]["address"] = "198.18.1.2"
    message = refused(d)
    assert "circuits[0]: circuit er-tokyo-1: paths[0] (active/primary) and paths[3] " in message
    assert "(standby/secondary) both probe 198.18.1.2" in message, message


def test_snmp_paths_may_share_an_address() -> None:
    """A path with ``probe: snmp`` takes its state from the router, not from its address."""
    d = data()
    for p in d["circuits"][0]["paths"]:
        p.update(address="198.18.9.9", probe="snmp")
    d["circuits"][0]["routers"] = {
        role: {
            "address": address,
            "snmp": {"version": "2c", "community": {"env": "SLAWATCH_COMMUNITY"}},
            "interfaces": {"primary": {"if_name": "xe-0"}, "secondary": {"if_name": "xe-1"}},
        }
        for role, address in (("active", "198.18.1.1"), ("standby", "198.18.3.1"))
    }
    assert len(config.parse(d).circuits[0].paths) == 4


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("contacts", "circuit er-tokyo-1: contacts lists noc@example.com twice"),
        ("escalation", "circuit er-tokyo-1: escalation[0].contacts lists noc@example.com twice"),
        ("noc", "notify.noc: noc@example.com is listed twice"),
    ],
)
def test_a_contact_listed_twice_in_one_list_is_refused(where: str, says: str) -> None:
    d = data()
    twice = ["noc@example.com", {"address": "NOC@example.com", "lang": "en"}]
    if where == "contacts":
        d["circuits"][0]["contacts"] = twice
    elif where == "escalation":
        d["circuits"][0]["escalation"] = [{"name": "boss", "after_min": 15, "contacts": twice}]
    else:
        d["notify"] = {"noc": ["noc@example.com", "noc@example.com"]}
    message = refused(d)
    assert says in message, message


# -- maintenance windows within sane dates ------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "outside 2000-01-01"),
        ("2026-10-05T01:00:00+09:00", "2100-01-01T00:00:00+00:00", "outside 2000-01-01"),
        ("2026-01-01T00:00:00+09:00", "2027-01-03T00:00:00+09:00", "at most 366 days"),
    ],
)
def test_absurd_maintenance_windows_are_refused(start: str, end: str, message: str) -> None:
    d = data()
    d["circuits"][0]["maintenance"] = [{"start": start, "end": end}]
    text = refused(d)
    assert "circuits[0].maintenance[0]" in text and message in text, text


# -- a probe's timeout fits in its interval -------------------------------------------------------
def test_probe_timeout_longer_than_the_interval_is_refused() -> None:
    d = data()
    d["probe_interval_s"], d["probe_timeout_s"] = 1, 2
    text = refused(d)
    assert "probe_timeout_s" in text and "probe_interval_s" in text and "≤ 1" in text, text


def test_a_circuit_interval_shorter_than_the_timeout_is_refused() -> None:
    d = data()
    d["probe_timeout_s"] = 1
    d["circuits"][0]["probe_interval_s"] = 0.5
    text = refused(d)
    assert "circuits[0].probe_interval_s" in text and "probe_timeout_s" in text, text


# -- check-config reads what run reads ---------------------------------------------------------
def test_check_config_reads_every_secret_run_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLAWATCH_TEST_NO_SUCH_VAR", raising=False)
    d = data()
    d["http"] = {"token_file": str(tmp_path / "missing.token")}
    d["notify"] = {
        "smtp": [
            {"host": "relay-a", "tls": "starttls", "username": "u",
             "password_file": str(tmp_path / "missing.password")},
            {"host": "relay-b", "tls": "starttls", "username": "u",
             "password_env": "SLAWATCH_TEST_NO_SUCH_VAR"},
        ]
    }  # fmt: skip
    d["circuits"][0]["routers"] = {
        "active": {
            "address": "198.18.1.1",
            "snmp": {"version": "2c", "community": {"env": "SLAWATCH_TEST_NO_SUCH_VAR"}},
            "interfaces": {"primary": {"if_name": "ge-0/0/1"}},
        }
    }
    path = write(tmp_path, yaml.safe_dump(d))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "http.token_file" in err and "missing.token" in err, err
    assert "missing.password" in err, err
    assert "SLAWATCH_TEST_NO_SUCH_VAR" in err and "routers.active.snmp.community" in err, err
    assert "Traceback" not in err
    assert main(["check-config", "--no-secrets", str(path)]) == 0  # the YAML alone is fine


def test_check_config_passes_when_every_secret_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "api.token"
    token.write_text("t" * 32 + "\n")
    os.chmod(token, 0o600)
    d = data()
    d["http"] = {"token_file": str(token)}
    assert main(["check-config", str(write(tmp_path, yaml.safe_dump(d)))]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_loads_the_relay_s_ca_file_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run's Mailer loads a TLS relay's ca_file; check-config (and SIGHUP: the same preflight)
    did not, so a missing or non-PEM file passed it and then stopped run after the journal was
    opened."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    d = data()
    d["notify"] = {
        "smtp": [
            {"host": "relay-a", "tls": "starttls", "ca_file": str(tmp_path / "missing-ca.pem")},
            {"host": "relay-b", "tls": "implicit", "port": 465, "ca_file": str(junk)},
        ]
    }
    path = write(tmp_path, yaml.safe_dump(d))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "relay relay-a:25: cannot load ca_file" in err and "missing-ca.pem" in err, err
    assert "relay relay-b:465: cannot load ca_file" in err and "junk.pem" in err, err
    with pytest.raises(ConfigError, match="cannot load ca_file"):
        preflight(config.load(path))  # what run and a reload call


def test_check_config_loads_the_evidence_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evidence.tsa_ca_file`` (read by the hourly time-stamp) and ``evidence.key_file`` (read
    by ``slawatch evidence``) passed check-config missing or holding no PEM. The daemon never
    reads the signing key, so run's preflight leaves it to check-config and the command."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    d = data()
    d["evidence"] = {"tsa_url": "http://127.0.0.1:9/tsa", "tsa_ca_file": str(junk),
                     "key_file": str(tmp_path / "missing.key")}  # fmt: skip
    path = write(tmp_path, yaml.safe_dump(d))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "evidence.tsa_ca_file" in err and "junk.pem: no PEM certificate" in err, err
    assert "evidence.key_file" in err and "missing.key: cannot read" in err, err
    with pytest.raises(ConfigError) as caught:
        preflight(config.load(path))
    assert "evidence.tsa_ca_file" in str(caught.value)
    assert "evidence.key_file" not in str(caught.value)


def test_check_config_passes_with_usable_ca_and_key_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = Cert.make(tmp_path).cert
    key = tmp_path / "evidence.key"
    keygen(key)
    d = data()
    d["notify"] = {"smtp": [{"host": "relay", "tls": "starttls", "ca_file": str(ca)}]}
    d["evidence"] = {"tsa_url": "http://127.0.0.1:9/tsa", "tsa_ca_file": str(ca),
                     "key_file": str(key)}  # fmt: skip
    assert main(["check-config", str(write(tmp_path, yaml.safe_dump(d)))]) == 0
    assert "OK" in capsys.readouterr().out
