"""A start owes a closed incident's notices per language, through the real shell (journal,
outbox, notifier, Maildir): a group's notice is one outbox row per language, and a crash can
fall between two of them (found by a review of the re-owing at a start).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.events import IncidentClosed
from monitor.notify.message import message_id
from monitor.store import open_store
from monitor.store.records import Notice, OutboxState
from tests.service.harness import T0, Clock, Harness
from tests.service.test_reliability import moved

MIN = timedelta(minutes=1)
JA, EN = "fault@cust.example", "ops@cust.example"


def bilingual(h: Harness) -> None:
    h.settings = moved(h.settings, contacts=[{"address": JA}, {"address": EN, "lang": "en"}])


@pytest.mark.parametrize("partial", [True, False], ids=["ja-row-stored", "control-none-stored"])
async def test_a_recovery_stored_for_one_language_only_is_owed_to_the_other(
    tmp_path: Path, partial: bool
) -> None:
    """The designated contacts read Japanese (fault@) and English (ops@): each notice to the
    group is two outbox rows, two Message-IDs. The writer commits at most 256 writes at a
    time (writer.MAX_BATCH): when a region recovers, a batch can end between the two rows of
    one RECOVERED, and a crash before the next batch leaves the journal with the close and
    the Japanese RECOVERED only. The next start owes the English one (it owed nothing when
    it judged by kind and group alone)."""
    h = Harness(tmp_path)
    bilingual(h)
    d = await h.start()
    try:
        h.prober.ok = False
        incident = await h.until(lambda: d.sup.tracker.open_incident("c1"))
        await h.until(lambda: len(d.store.sync.outbox.notices(incident.id)) == 2)  # ja + en
    finally:
        await h.stop()
    end = incident.start + MIN
    store = open_store(h.settings.journal)
    try:  # what the crash left: the close, and the first row of its RECOVERED
        store.record([IncidentClosed(incident=replace(incident, end=end))])
        origin = store.journal_id()
        mid = message_id("c1", incident.id, "recovered", group="primary", lang="ja",
                         domain="noc.example", origin=origin)  # fmt: skip
        body = (f"Message-ID: {mid}\r\nFrom: slawatch@noc.example\r\nTo: {JA}\r\n"
                "X-Slawatch-Kind: recovered\r\nSubject: recovered\r\n\r\nrecovered\r\n"
                )  # fmt: skip
        if partial:
            store.outbox.put(
                Notice(message_id=mid, incident_id=incident.id, circuit="c1", kind="recovered",
                       group="primary", recipients=(JA,), body=body.encode(), due_at=end),
                end,
            )  # fmt: skip
    finally:
        store.close()

    again = Harness(tmp_path, clock=Clock(T0 + 10 * MIN))
    bilingual(again)
    d2 = await again.start()
    try:

        def recovered() -> list[tuple[str, ...]]:
            return sorted(
                n.notice.recipients
                for n in d2.store.sync.outbox.notices(incident.id)
                if n.notice.kind == "recovered" and n.state is OutboxState.DONE
            )

        await again.until(lambda: len(recovered()) >= 2)
        await d2.writer.drained()
        assert recovered() == [(JA,), (EN,)]
    finally:
        await again.stop()
