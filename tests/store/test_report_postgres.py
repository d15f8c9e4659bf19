"""``slawatch report`` over a PostgreSQL journal: the processes drawing the months each read
their months' incidents with a connection of their own (report_parts.py), and the document is
the one a SQLite journal of the same facts gives (but for the footer naming the journal)."""

from __future__ import annotations

import json
from pathlib import Path

from monitor import config
from tests.report import scenario
from tests.report.test_command import slawatch
from tests.store.backends import PostgresBackend, postgres_backend

MONTHS = "2026-08..2026-11"


def test_a_report_of_several_months_from_postgresql_is_the_sqlite_one(tmp_path: Path) -> None:
    cfg, journal, _ = scenario.build(tmp_path)
    with postgres_backend(tmp_path) as backend:
        assert isinstance(backend, PostgresBackend)
        store = backend.open()
        try:
            scenario.fill(store, config.load(cfg), scenario.events())
        finally:
            store.close()
        pg_cfg = tmp_path / "pg.yaml"
        pg_cfg.write_text(
            cfg.read_text(encoding="utf-8").replace(
                f"journal: {journal}",
                f"journal: {backend.url}\njournal_password_file: {backend.cluster.password_file}",
            ),
            encoding="utf-8",
        )
        made = {}
        for name, where, jobs in (("sqlite", cfg, "1"), ("pg1", pg_cfg, "1"), ("pg3", pg_cfg, "3")):
            done = slawatch(
                "report", "--config", str(where), "--now", scenario.NOW, "--month", MONTHS,
                "--format", "json", "--jobs", jobs,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            made[name] = json.loads(done.stdout)
    sources = {name: [m.pop("source") for m in months] for name, months in made.items()}
    assert sources["pg1"] == sources["pg3"] != sources["sqlite"]
    assert made["pg1"] == made["pg3"] == made["sqlite"]
    assert [m["month"] for m in made["sqlite"]] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert any(c["claims"] for m in made["sqlite"] for c in m["circuits"])
