"""A circuit's timezone decides its calendar months, and so which month a credit belongs to
(SLA.md §6.6): a zone that means something other than it seems is refused, naming the file,
the field and the fix, by the loader and by ``slawatch check-config``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config
from monitor.cli import main
from monitor.core.errors import ConfigError

ISSUE2 = Path(__file__).parent / "fixtures" / "issue2.yaml"


def with_zone(where: str, zone: str) -> dict[str, Any]:
    data = yaml.safe_load(ISSUE2.read_text())
    assert isinstance(data, dict)
    (data if where == "timezone" else data["circuits"][0])["timezone"] = zone
    return data


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        config.parse(data, "site.yaml")
    return str(caught.value)


@pytest.mark.parametrize(("where", "field"), [("timezone", "timezone"),
                                              ("circuit", "circuits[0].timezone")])  # fmt: skip
@pytest.mark.parametrize(
    ("zone", "says"),
    [
        ("Etc/GMT+9", "'Etc/GMT+9' is UTC-09:00, not UTC+09:00"),
        ("Etc/GMT-9", "'Etc/GMT-9' is UTC+09:00, not UTC-09:00"),
        ("Etc/GMT+12", "'Etc/GMT+12' is UTC-12:00"),
        ("localtime", "'localtime' is this host's local time"),
        ("Factory", "'Factory' is a placeholder zone of tzdata, not a place"),
        ("posix/Asia/Tokyo", "unknown timezone 'posix/Asia/Tokyo'"),
        ("right/Asia/Tokyo", "unknown timezone 'right/Asia/Tokyo'"),
        ("posixrules", "unknown timezone 'posixrules'"),
        ("Asia/Atlantis", "unknown timezone 'Asia/Atlantis'"),
    ],
)
def test_a_misleading_zone_is_refused_with_the_file_the_field_and_the_fix(
    where: str, field: str, zone: str, says: str
) -> None:
    message = refused(with_zone(where, zone))
    assert message.startswith("site.yaml: 1 error(s)"), message
    assert f"\n  {field}: {says}" in message, message
    assert "Asia/Tokyo" in message.split(says, 1)[1], message  # the fix


@pytest.mark.parametrize(
    "zone", ["Asia/Tokyo", "UTC", "Etc/UTC", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Japan"]
)
def test_iana_names_pass(zone: str) -> None:
    assert config.parse(with_zone("circuit", zone)).circuits[0].timezone == zone
    assert config.parse(with_zone("timezone", zone)).timezone == zone


def test_check_config_refuses_a_misleading_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(with_zone("circuit", "Etc/GMT+9")))
    assert main(["check-config", "--no-secrets", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "circuits[0].timezone: 'Etc/GMT+9' is UTC-09:00" in err, err
    path.write_text(yaml.safe_dump(with_zone("timezone", "localtime")))
    assert main(["check-config", "--no-secrets", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "timezone: 'localtime' is this host's local time" in err, err
    assert "Traceback" not in err
