"""A journal upgraded from schema 5 (its outbox kept no contact group) still gets what a
close owed: the RECOVERED a stop kept from the outbox goes to the recipients that hold the
incident's OPENED, once (deadlines.py ``_credited``). The journal, outbox, notifier and Maildir
are real; the upgrade is the real migration run on a file taken back to schema 5."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from monitor.core.events import IncidentClosed
from monitor.store import open_store
from monitor.store.records import OutboxState
from tests.service.harness import T0, Clock, Harness

MIN = timedelta(minutes=1)


def back_to_schema_5(journal: Path) -> None:
    """The file as the release of 2026-12-01 left it: no ``grp`` column, no index on it (and
    no table of the later schemas: 7's outages waiting, 8's exclusions withdrawn)."""
    with closing(sqlite3.connect(journal)) as db:
        db.execute("DROP TABLE waiting_outages")
        db.execute("DROP TABLE exclusion_withdrawals")
        db.execute("DROP INDEX outbox_incident")
        db.execute("ALTER TABLE outbox DROP COLUMN grp")
        db.execute("PRAGMA user_version = 5")
        db.commit()


async def test_a_recovery_kept_from_a_schema_5_outbox_is_sent_after_the_upgrade(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        await h.until(lambda: len(d.store.sync.outbox.notices(incident.id)) == 1)
    finally:
        await h.stop()
    store = open_store(h.settings.journal)
    try:  # the close is journalled; its RECOVERED never reached the outbox (held, or a crash)
        store.record([IncidentClosed(incident=replace(incident, end=incident.start + MIN))])
    finally:
        store.close()
    back_to_schema_5(Path(h.settings.journal))

    again = Harness(tmp_path, clock=Clock(T0 + 10 * MIN))
    d2 = await again.start()
    try:

        def sent(kind: str) -> list[tuple[str, ...]]:
            return [
                n.notice.recipients
                for n in d2.store.sync.outbox.notices(incident.id)
                if n.notice.kind == kind and n.state is OutboxState.DONE
            ]

        await again.until(lambda: len(sent("recovered")) >= 1)
        await d2.writer.drained()
        assert sent("recovered") == sent("opened") == [("fault@cust.example",)]
    finally:
        await again.stop()

    third = Harness(tmp_path, clock=Clock(T0 + 11 * MIN))
    d3 = await third.start()
    try:  # the next start owes nothing more: the RECOVERED stored above has its group
        await d3.writer.drained()
        kinds = sorted(n.notice.kind for n in d3.store.sync.outbox.notices(incident.id))
        assert kinds == ["opened", "recovered"]
    finally:
        await third.stop()
