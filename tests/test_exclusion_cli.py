"""``slawatch exclude ID --withdraw`` as an operator runs it on the October scenario's journal
(tests/report/scenario.py, #T4 excluded): a wrong exclusion is undone without editing the
journal, the report shows what was excluded and withdrawn, and the chain still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report import scenario
from tests.test_ops_cli import by_start, daemon, ok_json, slawatch

T4 = "2026-10-15T09:00:00+09:00"


@pytest.fixture
def october(tmp_path: Path) -> list[str]:
    cfg, _, _ = scenario.build(tmp_path)
    return ["--config", str(cfg), "--via", "journal"]


def test_a_wrong_exclusion_is_withdrawn_and_shown(october: list[str], tmp_path: Path) -> None:
    t4 = by_start(ok_json("incidents", *october), T4)
    assert t4["excluded"] == scenario.HOSTILE_REASON and t4["credit"] == "0"
    done = slawatch("exclude", str(t4["id"]), "--withdraw", "--reason", "it was our fibre",
                    *october)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = f"incident {t4['id']}: exclusion ({scenario.HOSTILE_REASON}) withdrawn: it was our fibre"
    assert said in done.stdout, done.stdout
    t4 = by_start(ok_json("incidents", *october), T4)
    assert t4["excluded"] is None and t4["credit"] == "1/10"  # 13 h
    again = slawatch("exclude", str(t4["id"]), "--withdraw", "--reason", "x", *october)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert f"incident {t4['id']} is not excluded: its exclusion (" in again.stderr
    assert "; nothing to withdraw" in again.stderr
    unknown = slawatch("exclude", "999", "--withdraw", "--reason", "x", *october)
    assert unknown.returncode == 2 and "no incident 999" in unknown.stderr
    no_reason = slawatch("exclude", str(t4["id"]), "--withdraw", "--reason", " ", *october)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr

    cfg = october[1]
    text = slawatch("report", "--month", "2026-10", "--lang", "en", "--now", scenario.NOW,
                    "--config", cfg)  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert f"#{t4['id']}: exclusion withdrawn 2026-" in text.stdout
    assert f": it was our fibre (it said: {scenario.HOSTILE_REASON})" in text.stdout
    out = tmp_path / "report.json"
    made = slawatch("report", "--month", "2026-10", "--format", "json", "--now", scenario.NOW,
                    "--config", cfg, "-o", str(out))  # fmt: skip
    assert made.returncode == 0, made.stderr
    tokyo = json.loads(out.read_text())["circuits"][0]
    [gone] = tokyo["exclusions_withdrawn"]
    assert gone["incident"] == t4["id"] and gone["excluded"] == scenario.HOSTILE_REASON
    assert (
        gone["excluded_at"] == "2026-10-16T10:00:00+09:00" and gone["reason"] == "it was our fibre"
    )
    assert tokyo["credit"] == "4/9"  # 31/90 with #T4's 1/10 back

    checked = slawatch("verify", "--config", cfg)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    excluded = ok_json("exclude", str(t4["id"]), "--reason", "customer after all", *october)
    assert excluded["excluded"] == "customer after all" and excluded["credit"] == "0"


def test_withdrawn_through_a_running_daemon_s_api(tmp_path: Path) -> None:
    scenario.build(tmp_path)  # the daemon runs on the scenario's journal
    with daemon(tmp_path) as (cfg, _):
        config = ["--config", str(cfg)]
        t4 = by_start(ok_json("incidents", *config), T4)
        done = slawatch("exclude", str(t4["id"]), "--withdraw", "--reason", "ours", *config)
        assert done.returncode == 0 and "via http://127.0.0.1:" in done.stderr, done.stderr
        assert f"incident {t4['id']}: exclusion (" in done.stdout
        assert by_start(ok_json("incidents", *config), T4)["credit"] == "1/10"
        again = slawatch("exclude", str(t4["id"]), "--withdraw", "--reason", "x", *config)
        assert again.returncode == 2 and "is not excluded: its exclusion (" in again.stderr
        unknown = slawatch("exclude", "999", "--withdraw", "--reason", "x", *config)
        assert unknown.returncode == 2 and "no incident 999" in unknown.stderr
