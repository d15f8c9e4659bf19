"""Notice rendering: golden files per kind and language, determinism, hostile input, time.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest
tests/notify/test_message.py`` and read the diff before committing it.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from fractions import Fraction
from pathlib import Path

import pytest

from monitor.core.chain import ChainHead
from monitor.core.errors import InputError
from monitor.core.notices import NoticeFacts, NoticeKind, zone
from monitor.core.sla import Tier
from monitor.notify.message import message_id, render, when
from monitor.notify.texts import TEXTS

GOLDEN = Path(__file__).parent / "golden"
HEAD = ChainHead(seq=1234, hash="0123456789abcdef" * 4)
SENDER = "slawatch@carrier.example"
TO = ("fault@cust.example", "boss@cust.example")
NOC = ("noc-duty@carrier.example",)

START = datetime(2026, 10, 4, 18, 12, tzinfo=UTC)  # 03:12 JST on the 5th
DETECTED = START + timedelta(minutes=2, seconds=30)
PATHS = (
    ("active/primary", "down"),
    ("active/secondary", "down"),
    ("standby/primary", "down"),
    ("standby/secondary", "unknown"),
)

FACTS: dict[NoticeKind, NoticeFacts] = {
    NoticeKind.OPENED: NoticeFacts(
        circuit="er-tokyo-1", incident=12, kind=NoticeKind.OPENED, now=DETECTED,
        start=START, detected=DETECTED, notify_deadline=DETECTED + timedelta(minutes=30),
        paths=PATHS, group="primary",
    ),
    NoticeKind.REMINDER: NoticeFacts(
        circuit="er-tokyo-1", incident=12, kind=NoticeKind.REMINDER,
        now=DETECTED + timedelta(hours=2), start=START, detected=DETECTED, paths=PATHS,
        seq=2, group="primary",
    ),
    NoticeKind.RECOVERED: NoticeFacts(
        circuit="er-tokyo-1", incident=12, kind=NoticeKind.RECOVERED,
        now=START + timedelta(hours=2, minutes=31), start=START, detected=DETECTED,
        end=START + timedelta(hours=2, minutes=30, seconds=5), duration_s=9005.0,
        counted_s=5405.5, tier=Tier.H12, credit=Fraction(1, 30), credit_yen=16666,
        paths=(("active/primary", "up"),), group="primary",
    ),
    NoticeKind.DEADLINE_AT_RISK: NoticeFacts(
        circuit="er-tokyo-1", incident=12, kind=NoticeKind.DEADLINE_AT_RISK,
        now=DETECTED + timedelta(minutes=20), start=START, detected=DETECTED,
        notify_deadline=DETECTED + timedelta(minutes=30), group="noc",
        note="relay1: 451 4.3.0 try again later",
    ),
    NoticeKind.BLIND: NoticeFacts(
        circuit="monitor", incident=0, kind=NoticeKind.BLIND,
        now=START + timedelta(minutes=1), blind_since=START, group="noc",
    ),
    NoticeKind.BLIND_ENDED: NoticeFacts(
        circuit="monitor", incident=0, kind=NoticeKind.BLIND_ENDED,
        now=START + timedelta(minutes=48), blind_since=START,
        end=START + timedelta(minutes=47, seconds=10), group="noc",
    ),
    NoticeKind.DISAGREE: NoticeFacts(
        circuit="er-tokyo-1", incident=0, kind=NoticeKind.DISAGREE,
        now=DETECTED + timedelta(seconds=10), group="noc",
        paths=(
            ("noc-a: active/primary", "down"), ("noc-a: active/secondary", "down"),
            ("noc-b: active/primary", "up"), ("noc-b: active/secondary", "down"),
        ),
    ),
    NoticeKind.TEST: NoticeFacts(
        circuit="er-tokyo-1", incident=0, kind=NoticeKind.TEST, now=START,
    ),
}  # fmt: skip


def readable(msg: EmailMessage) -> str:
    """Headers (decoded) and both bodies (decoded): what a reviewer can read in a diff."""
    lines = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.iter_parts():
        assert isinstance(part, EmailMessage)
        lines += ["", f"=== {part.get_content_type()} ===", part.get_content().rstrip("\n")]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_golden(kind: NoticeKind, lang: str) -> None:
    to = NOC if FACTS[kind].group == "noc" else TO
    msg = render(FACTS[kind], lang=lang, sender=SENDER, recipients=to, head=HEAD)  # type: ignore[arg-type]
    # Through the wire format and back, as the recipient will see it.
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    got = readable(parsed)
    path = GOLDEN / f"{kind}.{lang}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8"), f"{path.name} differs; see module docstring"


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_same_facts_give_the_same_bytes(kind: NoticeKind) -> None:
    one = render(FACTS[kind], sender=SENDER, recipients=TO).as_bytes()
    two = render(FACTS[kind], sender=SENDER, recipients=TO).as_bytes()
    assert one == two
    assert b"=_slawatch_" in one  # the boundary is ours, derived, not random


def test_message_id_forms() -> None:
    assert (
        message_id("er-tokyo-1", 12, NoticeKind.OPENED, domain="example.com")
        == "<slawatch.er-tokyo-1.12.opened@example.com>"
    )
    assert (
        message_id("er-tokyo-1", 12, "reminder", seq=3, group="primary", lang="en", domain="x.jp")
        == "<slawatch.er-tokyo-1.12.reminder.primary.3.en@x.jp>"
    )
    with pytest.raises(InputError, match="host name"):
        message_id("c", 1, "opened", domain="bad domain>")


def test_message_id_of_a_hostile_circuit_is_a_valid_distinct_dot_atom() -> None:
    dot_atom = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@")
    ids = {
        message_id(c, 1, "opened", domain="example.com")
        for c in ("a..b", ".a", "a.", "a b", "a>b", "a=2Eb", "回線", "a.b")
    }
    assert len(ids) == 8
    assert all(dot_atom.match(i) for i in ids), ids


def test_hostile_circuit_and_note_cannot_inject_headers_or_markup() -> None:
    facts = FACTS[NoticeKind.OPENED]
    evil = NoticeFacts(
        **{
            **{f: getattr(facts, f) for f in facts.__dataclass_fields__},
            "circuit": 'x<b onclick="1">\r\nBcc: evil@attacker.example',
            "note": "</td><script>alert(1)</script>",
        }
    )
    msg = render(evil, lang="en", sender=SENDER, recipients=TO)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in str(parsed["Subject"])
    page = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in page and "<b " not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x&lt;b onclick=&#34;1&#34;&gt;" in page  # Jinja2 (markupsafe) escapes " as &#34;


def test_times_are_shown_in_the_circuit_zone_with_offset() -> None:
    at = datetime(2026, 10, 4, 18, 12, tzinfo=UTC)
    assert when(at, zone("Asia/Tokyo")) == "2026-10-05 03:12:00 JST (+09:00)"
    assert when(at, zone("America/New_York")) == "2026-10-04 14:12:00 EDT (-04:00)"
    # A zone whose abbreviation is only a number shows the offset once.
    assert when(at, zone("Asia/Dubai")) == "2026-10-04 22:12:00 (UTC+04:00)"


def test_date_header_is_facts_now_in_the_circuit_zone() -> None:
    msg = render(FACTS[NoticeKind.OPENED], sender=SENDER, recipients=TO)
    assert msg["Date"] == "Mon, 05 Oct 2026 03:14:30 +0900"
    assert msg["Date"].datetime == DETECTED


def test_reminder_and_recovery_thread_to_the_opening_notice() -> None:
    opened = render(FACTS[NoticeKind.OPENED], lang="en", sender=SENDER, recipients=TO)
    for kind in (NoticeKind.REMINDER, NoticeKind.RECOVERED):
        later = render(FACTS[kind], lang="en", sender=SENDER, recipients=TO)
        assert later["In-Reply-To"] == opened["Message-ID"]
        assert later["Message-ID"] != opened["Message-ID"]


def test_languages_and_groups_get_distinct_ids_and_blind_and_test_ids_follow_time() -> None:
    f = FACTS[NoticeKind.OPENED]
    ja = render(f, lang="ja", sender=SENDER, recipients=TO)["Message-ID"]
    en = render(f, lang="en", sender=SENDER, recipients=TO)["Message-ID"]
    esc = NoticeFacts(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, "group": "esc"})
    assert len({ja, en, render(esc, sender=SENDER, recipients=TO)["Message-ID"]}) == 3
    blind = render(FACTS[NoticeKind.BLIND], sender=SENDER, recipients=TO)["Message-ID"]
    assert f".{int(START.timestamp())}.blind." in blind
    test = render(FACTS[NoticeKind.TEST], sender=SENDER, recipients=TO)["Message-ID"]
    assert test.endswith(f".test.{int(START.timestamp())}.ja@carrier.example>")


def test_every_kind_and_tier_has_words_in_both_languages() -> None:
    for t in TEXTS.values():
        assert set(t.kinds) == {str(k) for k in NoticeKind} | {"monitoring-ended"}
        assert set(t.tiers) == set(Tier)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_circuit_removed_mid_outage_is_told_monitoring_ended_not_recovered(lang: str) -> None:
    """A reload that removes a circuit while it is down closes its incident and owes the
    contacts told of it a RECOVERED: it said "recovered at" a time the circuit had not
    recovered (an attack on the operator's side found it)."""
    facts = replace(FACTS[NoticeKind.RECOVERED], removed=True)
    text = readable(render(facts, lang=lang, sender=SENDER, recipients=TO))
    assert "monitoring ended" in text and "still unavailable" in text
    assert "recovered at" not in text.lower() and "に復旧しました" not in text
    label = {"ja": "監視終了時刻", "en": "Monitoring ended at"}[lang]
    assert f"{label}: 2026-10-05 05:42:05 JST (+09:00)" in text
    same_id = render(FACTS[NoticeKind.RECOVERED], lang=lang, sender=SENDER, recipients=TO)
    assert (
        render(facts, lang=lang, sender=SENDER, recipients=TO)["Message-ID"]
        == same_id["Message-ID"]
    )  # the same notice owed, in other words


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": None}, "needs start"),
        ({"detected": datetime(2026, 10, 5, 3, 14)}, "naive datetime"),  # noqa: DTZ001
        ({"timezone": "Mars/Olympus"}, "IANA name"),
        ({"kind": NoticeKind.REMINDER, "seq": 0}, "seq >= 1"),
    ],
)
def test_bad_facts_are_refused_with_the_fix(change: dict[str, object], message: str) -> None:
    f = FACTS[NoticeKind.OPENED]
    with pytest.raises(InputError, match=message):
        NoticeFacts(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, **change})


def test_bad_render_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="recipient"):
        render(FACTS[NoticeKind.OPENED], sender=SENDER, recipients=())
    with pytest.raises(InputError, match="language"):
        render(FACTS[NoticeKind.OPENED], lang="fr", sender=SENDER, recipients=TO)  # type: ignore[arg-type]
