"""The embedded transport: one parseable message per delivery in Maildir ``new/``."""

from __future__ import annotations

import email
import email.policy
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.notify.maildir import MaildirSink
from monitor.notify.transport import Outcome
from tests.notify.test_mailer import A, B, notice

WRITTEN = datetime(2026, 10, 4, 18, 12, 1, tzinfo=UTC)


async def test_each_delivery_is_one_parseable_message_in_new(tmp_path: Path) -> None:
    root = tmp_path / "var" / "maildir"
    sink = MaildirSink(root, wall=lambda: WRITTEN)
    first = await sink.deliver(notice(12), [A, B, A])
    second = await sink.deliver(notice(13), [A])
    await sink.close()

    assert sorted(os.listdir(root / "tmp")) == [] and sorted(os.listdir(root / "cur")) == []
    files = sorted((root / "new").iterdir())
    assert len(files) == 2 and files[0].name != files[1].name
    ids = set()
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        ids.add(msg["Message-ID"])
        assert msg.get_body(("plain",)) is not None
    assert ids == {first.message_id, second.message_id}

    assert [(r.recipient, r.accepted, r.at, r.relay) for r in first.results] == [
        (A, True, WRITTEN, "maildir"),
        (B, True, WRITTEN, "maildir"),
    ]
    assert first.attempts[0].outcome is Outcome.ACCEPTED
    written = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert written["X-Slawatch-Envelope-To"] in {f"{A}, {B}", A}


async def test_an_unwritable_maildir_leaves_recipients_pending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    report = await MaildirSink(blocker / "maildir").deliver(notice(), [A])
    # said in the log, as a relay's refusal is (it was seen only in the journal and a metric)
    assert "not delivered: cannot write to" in caplog.text and "notify.maildir" in caplog.text
    assert report.attempts[0].outcome is Outcome.WRITE_ERROR
    assert report.results[0].pending and report.results[0].at is None
    assert "cannot write" in report.results[0].reply
