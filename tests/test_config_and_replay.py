"""``slawatch check-config`` and ``slawatch replay`` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures"
ISSUE2 = FIXTURES / "issue2.yaml"


def slawatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_issue_yaml_is_accepted_and_summarised() -> None:
    done = slawatch("check-config", str(ISSUE2))
    assert done.returncode == 0, done.stderr
    assert "er-tokyo-1" in done.stdout and "4 paths" in done.stdout
    assert "no static NAT" in done.stdout


def test_static_nat_fee_and_announced_at_are_summarised(tmp_path: Path) -> None:
    data = yaml.safe_load(ISSUE2.read_text())
    data["circuits"][0]["static_nat_fee_yen"] = 45_000
    data["circuits"][0]["maintenance"][0]["announced_at"] = "2026-10-05T02:00:00+09:00"
    path = tmp_path / "nat.yaml"
    path.write_text(yaml.safe_dump(data))
    done = slawatch("check-config", str(path))
    assert done.returncode == 0, done.stderr
    assert "static NAT ¥45,000/month" in done.stdout
    assert "1 announced after it began" in done.stdout


def broken(tmp_path: Path, change: str, value: object) -> Path:
    data = yaml.safe_load(ISSUE2.read_text())
    target, key = data, change.split(".")
    for part in key[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[key[-1]] = value  # type: ignore[index]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "value", "message"),
    [
        ("circuits.0.colour", "red", "circuits[0].colour: unknown key"),
        ("circuits.0.paths.2.address", "198.18.3.999", "circuits[0].paths[2].address:"),
        (
            "circuits.0.maintenance.0.start",
            "2026-10-05T01:00:00",
            "circuits[0].maintenance[0].start",
        ),
        ("circuits.0.maintenance.0.end", "2026-10-04T01:00:00+09:00", "is not after start"),
        ("circuits.0.monthly_fee_yen", 0, "circuits[0].monthly_fee_yen"),
        ("timezone", "Asia/Atlantis", "unknown timezone"),
        ("circuits.0.contacts", [], "at least one designated fault contact"),
        (
            "circuits.0.maintenance.0.announced_at",
            "2026-10-01T09:00:00",
            "circuits[0].maintenance[0].announced_at: timestamp has no UTC offset",
        ),
        (
            "circuits.0.maintenance.0.announced_at",
            "2026-10-05T05:00:00+09:00",
            "circuits[0].maintenance[0]: announced_at 2026-10-05T05:00:00+09:00 is not before end",
        ),
        ("circuits.0.static_nat_fee_yen", -1, "circuits[0].static_nat_fee_yen"),
    ],
)
def test_every_mistake_is_located(tmp_path: Path, change: str, value: object, message: str) -> None:
    done = slawatch("check-config", str(broken(tmp_path, change, value)))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    done = slawatch("check-config", str(broken(tmp_path, "circuits.0.paths.1.demarc", "primary")))
    assert "duplicate path active/primary" in done.stderr


def test_duplicate_circuit(tmp_path: Path) -> None:
    data = yaml.safe_load(ISSUE2.read_text())
    data["circuits"].append(data["circuits"][0])
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(data))
    done = slawatch("check-config", str(path))
    assert done.returncode == 2 and "duplicate circuit id er-tokyo-1" in done.stderr


def event(t: str, kind: str = "probe", **kw: object) -> str:
    return json.dumps({"t": t, "kind": kind, **kw})


def outage_lines(minutes_down: int, notified_at: int | None = None) -> list[str]:
    paths = ["active/primary", "active/secondary", "standby/primary", "standby/secondary"]
    lines = []
    for i in range(minutes_down + 6):
        t = f"2026-10-07T10:{i:02d}:00+09:00" if i < 60 else f"2026-10-07T11:{i - 60:02d}:00+09:00"
        ok = not 2 <= i < 2 + minutes_down
        lines += [event(t, circuit="er-tokyo-1", path=p, ok=ok) for p in paths]
        if notified_at == i:
            lines.append(event(t, "notified", circuit="er-tokyo-1"))
    return lines


def test_replay_output_fields_exactly(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(outage_lines(31, notified_at=10)) + "\n")
    done = slawatch("replay", "--config", str(ISSUE2), str(events))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    [i] = out["incidents"]
    assert i["start"] == "2026-10-07T10:02:00+09:00" and i["end"] == "2026-10-07T10:33:00+09:00"
    assert i["detected"] == "2026-10-07T10:04:00+09:00"
    assert (i["duration_s"], i["counted_s"], i["credit"]) == (1860.0, 1860.0, "1/90")
    assert i["notify_deadline"] == "2026-10-07T10:34:00+09:00"
    assert i["notified"] == "2026-10-07T10:10:00+09:00" and i["notify_breach"] is False
    assert (i["month"], i["claim_by"], i["blind_s"]) == ("2026-10", "2027-01-07", 0.0)
    assert out["months"] == [
        {
            "circuit": "er-tokyo-1",
            "month": "2026-10",
            "fee_yen": 300000,
            "credit": "1/90",
            "credit_yen": 3333,
            "uncapped": "1/90",
        }
    ]


def test_open_incident_measured_to_now() -> None:
    lines = outage_lines(200)[: 4 * 40]  # stops while still down, at 10:39
    done = slawatch("replay", "--config", str(ISSUE2), "-", stdin="\n".join(lines))
    [i] = json.loads(done.stdout)["incidents"]
    assert i["end"] is None and i["duration_s"] == 37 * 60 and i["claim_by"] is None
    assert i["notify_breach"] is True  # detected 10:04, nothing by 10:34, now 10:39


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not JSON"),
        (
            event(
                "2026-10-07T09:00:00+09:00", circuit="er-tokyo-1", path="active/primary", ok=True
            ),
            "line 2: time",
        ),
        (
            event("2026-10-07T10:05:00", circuit="er-tokyo-1", path="active/primary", ok=True),
            "has no UTC offset",
        ),
        (
            event("2026-10-07T10:05:00+09:00", circuit="nope", path="active/primary", ok=True),
            "line 2: unknown circuit",
        ),
        (
            event(
                "2026-10-07T10:05:00+09:00", circuit="er-tokyo-1", path="active/tertiary", ok=True
            ),
            "line 2: path 'active/tertiary'",
        ),
        (event("2026-10-07T10:05:00+09:00", "bogus"), "line 2: field 'kind'"),
        (
            event(
                "2026-10-07T10:05:00+09:00", circuit="er-tokyo-1", path="active/primary", ok="yes"
            ),
            "field 'ok' must be a bool",
        ),
    ],
)
def test_malformed_line_stops_with_its_number(line: str, message: str) -> None:
    first = event("2026-10-07T10:00:00+09:00", circuit="er-tokyo-1", path="active/primary", ok=True)
    done = slawatch("replay", "--config", str(ISSUE2), "-", stdin=f"{first}\n{line}\n")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("[" * 200_000 + "]" * 200_000, "line 1: not JSON replay takes: nested too deeply"),
        (
            '{"t": "2026-10-07T10:05:00+09:00", "kind": "end", "x": ' + "9" * 100_000 + "}",
            "line 1: not JSON replay takes: Exceeds the limit (4300 digits)",
        ),
        ('{"t": "2026-10-07T10:05:00+09:00", "kind": "nope"}', "line 1: field 'kind'"),
        (  # an attack on the operator's side: a misspelt field was ignored
            '{"t": "2026-10-07T10:05:00+09:00", "kind": "probe", "circuit": "er-tokyo-1", '
            '"path": "active/primary", "ok": true, "okk": false}',
            "line 1: field 'okk' is not one a probe event takes (circuit, kind, ok, path, t)",
        ),
        (  # and a key given twice kept its last value: "ok": false, "ok": true was up
            '{"t": "2026-10-07T10:05:00+09:00", "kind": "probe", "circuit": "er-tokyo-1", '
            '"path": "active/primary", "ok": false, "ok": true}',
            "line 1: field 'ok' given twice; give it once",
        ),
    ],
    ids=["deep", "long-number", "bad-kind", "unknown-field", "twice"],
)
def test_a_bad_line_in_a_file_names_the_file_and_the_line(
    tmp_path: Path, line: str, says: str
) -> None:
    """The API refuses both hostile bodies with 400; replay (and report --events) ended in a
    RecursionError or ValueError traceback, and every other error named the line only."""
    events = tmp_path / "events.jsonl"
    events.write_text(line + "\n")
    done = slawatch("replay", "--config", str(ISSUE2), str(events))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-600:]
    assert f"slawatch replay: {events}: {says}" in done.stderr, done.stderr
    done = slawatch(
        "report", "--month", "2026-10", "--config", str(ISSUE2), "--events", str(events)
    )
    assert done.returncode == 2 and f"--events {events}: {says}" in done.stderr, done.stderr
