"""An operator's exclusion and its withdrawal in a replayed events file (core/replay.py): the
figures are the journal's, and what the journal refuses the replay refuses, naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import config
from monitor.core import replay
from monitor.core.errors import InputError
from tests.test_config_and_replay import ISSUE2, event, outage_lines, slawatch

START = "2026-10-07T10:02:00+09:00"  # outage_lines' outage


def excluded(t: str, **kw: object) -> str:
    return event(t, "excluded", **{"circuit": "er-tokyo-1", "start": START, **kw})


def withdrawn(t: str, **kw: object) -> str:
    return event(t, "exclusion_withdrawn", **{"circuit": "er-tokyo-1", "start": START, **kw})


def replayed(lines: list[str]) -> dict[str, object]:
    plan = config.load(ISSUE2).plan()
    return replay.summary(plan, replay.run(plan, lines))


def test_an_exclusion_and_its_withdrawal_replay_as_the_journal_has_them(tmp_path: Path) -> None:
    lines = outage_lines(61, notified_at=10)  # 61 min: 1/30, ends 11:03
    [i] = replayed(lines)["incidents"]  # type: ignore[misc]
    assert (i["credit"], i["excluded"]) == ("1/30", None)
    lines.append(excluded("2026-10-08T09:00:00+09:00", reason="customer power"))
    [i] = replayed(lines)["incidents"]  # type: ignore[misc]
    assert (i["credit"], i["excluded"]) == ("0", "customer power")
    lines.append(withdrawn("2026-10-09T09:00:00+09:00", reason="it was our fibre"))
    plan = config.load(ISSUE2).plan()
    result = replay.run(plan, lines)
    [i] = replay.summary(plan, result)["incidents"]
    assert (i["credit"], i["excluded"]) == ("1/30", None)
    [w] = result.withdrawals
    assert (w.excluded, w.reason, w.excluded_at.isoformat(), w.at.isoformat()) == (  # type: ignore[union-attr]
        "customer power", "it was our fibre", "2026-10-08T00:00:00+00:00",
        "2026-10-09T00:00:00+00:00")  # fmt: skip
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    shown = slawatch("report", "--month", "2026-10", "--lang", "en", "--config", str(ISSUE2),
                     "--events", str(events))  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "#1: exclusion withdrawn 2026-10-09 09:00: it was our fibre (it said: customer " \
           "power)" in shown.stdout  # fmt: skip


def test_an_exclusion_made_while_the_outage_is_open_survives_its_close() -> None:
    lines = outage_lines(61)
    cut = lines.index(next(x for x in lines if "10:30:00" in x))  # still down at 10:30
    lines.insert(cut, excluded("2026-10-07T10:30:00+09:00", reason="customer power"))
    [i] = replayed(lines)["incidents"]  # type: ignore[misc]
    assert i["end"] == "2026-10-07T11:03:00+09:00" and i["excluded"] == "customer power"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ([excluded("2026-10-08T00:00:00+09:00", reason="x", start="2026-10-07T10:00:00+09:00")],
         "no incident of er-tokyo-1 started at 2026-10-07T10:00:00+09:00"),
        ([withdrawn("2026-10-08T00:00:00+09:00", reason="x")],
         "the incident is not excluded; nothing to withdraw"),
        ([excluded("2026-10-08T00:00:00+09:00", reason="a"),
          excluded("2026-10-08T00:01:00+09:00", reason="b")],
         "the incident is already excluded ('a')"),
        ([excluded("2026-10-08T00:00:00+09:00", reason="a"),
          withdrawn("2026-10-08T00:01:00+09:00", reason="b"),
          withdrawn("2026-10-08T00:02:00+09:00", reason="c")],
         "the incident is not excluded; nothing to withdraw"),
        ([excluded("2026-10-08T00:00:00+09:00", reason="   ")], "field 'reason' must say why"),
        ([excluded("2026-10-08T00:00:00+09:00", reason="a", by="me")],
         "field 'by' is not one a excluded event takes (circuit, kind, reason, start, t)"),
        ([withdrawn("2026-10-08T00:00:00+09:00")], "missing field 'reason'"),
    ],
    ids=["unknown", "not-excluded", "twice", "withdrawn-twice", "no-reason", "extra", "missing"],
)  # fmt: skip
def test_what_the_journal_refuses_the_replay_refuses(extra: list[str], says: str) -> None:
    lines = outage_lines(61) + extra
    with pytest.raises(InputError) as caught:
        replayed(lines)
    assert str(caught.value) == f"line {len(lines)}: {says}"
