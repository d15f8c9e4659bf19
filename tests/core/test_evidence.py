"""The probe-evidence recorder, stepped by hand: what is kept, what a capture holds."""

from __future__ import annotations

import gzip
import json
from array import array
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.evidence import AFTER, BEFORE, KEEP, Recorder, encode
from monitor.core.facts import SPAN_US, block, span, unblock
from monitor.core.inputs import Control, Probed, SnmpReading
from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.core.tracker import Incident

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)
A = PathKey(circuit="c1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
B = PathKey(circuit="c2", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
CTRL = Control(name="gw")


def feed(rec: Recorder, start: datetime, seconds: int, ok: bool) -> None:
    for n in range(seconds):
        at = start + n * S
        rec.add(Probed.of((k, ProbeResult(target="t", at=at, ok=ok, rtt=0.002 if ok else None))
                          for k in (A, B, CTRL)))  # fmt: skip


def test_an_opening_holds_ten_minutes_before_to_five_after_of_its_circuit() -> None:
    rec = Recorder()
    start = T0 + 20 * 60 * S
    feed(rec, T0, 20 * 60, True)  # 20 min up: the first 10 fall out of the window
    feed(rec, start, 3, False)
    incident = Incident(id=7, circuit="c1", start=start, detected=start + 2 * S)
    rec.capture(incident, "opened", start + 2 * S)
    assert rec.next_due() == incident.detected + AFTER
    feed(rec, start + 3 * S, 6 * 60, False)  # past the window's end
    assert rec.due(incident.detected + AFTER - S) == []
    [e] = rec.due(incident.detected + AFTER)
    assert (e.start, e.end, e.reason, e.incident) == (start - BEFORE, incident.detected + AFTER,
                                                      "opened", 7)  # fmt: skip
    assert {s.target for s in e.samples} == {"active/primary", "control:gw"}  # not c2's
    mine = [s for s in e.samples if s.target == "active/primary"]
    assert mine[0].at == (start - BEFORE).timestamp() and mine[-1].at == e.end.timestamp()
    assert len(mine) == 10 * 60 + 2 + 5 * 60 + 1
    assert all(s.ok == (s.at < start.timestamp()) for s in mine)
    assert rec.next_due() is None and rec.due(T0 + 3600 * S) == []


def test_what_a_capture_took_at_once_survives_the_trim() -> None:
    rec = Recorder()
    feed(rec, T0, 15 * 60, True)
    end = T0 + 15 * 60 * S
    incident = Incident(id=1, circuit="c1", start=T0, detected=T0 + S, end=end)
    rec.capture(incident, "closed", end)
    feed(rec, end, 20 * 60, True)  # the buffer moves on by 20 minutes: the start is trimmed
    [e] = rec.due(end + 20 * 60 * S)
    mine = [s for s in e.samples if s.target == "active/primary"]
    assert mine[0].at == (end - BEFORE).timestamp() and mine[-1].at == (end + AFTER).timestamp()
    assert len(mine) == 15 * 60 + 1


def test_only_fifteen_minutes_are_kept() -> None:
    rec = Recorder()
    feed(rec, T0, 40 * 60, True)
    late = Incident(id=2, circuit="c1", start=T0 + 39 * 60 * S, detected=T0 + 39 * 60 * S)
    rec.capture(late, "opened", T0 + 40 * 60 * S)
    [e] = rec.due(T0 + 3 * 3600 * S)
    first = min(s.at for s in e.samples)
    # the window reaches back 10 min; memory holds 15 (+ up to one minute between trims)
    assert first == (late.start - BEFORE).timestamp()
    early = Incident(id=3, circuit="c1", start=T0 + 5 * 60 * S, detected=T0 + 5 * 60 * S)
    rec.capture(early, "opened", T0 + 40 * 60 * S)
    [old] = rec.due(T0 + 3 * 3600 * S)
    assert old.samples == ()  # long trimmed: nothing to show
    kept = (T0 + 40 * 60 * S - KEEP - 60 * S).timestamp()
    assert all(s.at >= kept for s in e.samples)


def test_snmp_readings_of_the_window_go_in_and_the_document_reads_back() -> None:
    rec = Recorder()
    feed(rec, T0, 60, True)
    rec.reading(SnmpReading(path=A, at=T0 + 30 * S, kind="ifOperStatus", ok=False, value=2,
                            text="down"))  # fmt: skip
    rec.reading(SnmpReading(path=B, at=T0 + 30 * S, kind="trap", ok=None, value=None,
                            text="linkDown"))  # fmt: skip
    incident = Incident(id=4, circuit="c1", start=T0 + 31 * S, detected=T0 + 33 * S)
    rec.capture(incident, "opened", T0 + 33 * S)
    [e] = rec.due(T0 + 3600 * S)
    assert [(r.kind, r.text) for r in e.readings] == [("ifOperStatus", "down")]
    doc = json.loads(gzip.decompress(encode(e)))
    assert doc["incident"] == 4 and doc["snmp"][0]["path"] == "active/primary"
    mine = doc["results"]["active/primary"]
    assert mine["at_us"][0] == int(T0.timestamp()) * 1_000_000 and mine["rtt_ms"][0] == 2.0
    assert len(mine["at_us"]) == len(mine["rtt_ms"]) == 60
    assert set(doc["results"]) == {"active/primary", "control:gw"}
    assert encode(e) == encode(e)  # the same evidence, the same bytes


def test_results_stay_exact_across_packed_minutes() -> None:
    """A target's minutes are packed as the next begins; a window across many of them and the
    live minute reads back every result, send time and RTT, to the microsecond."""
    rec = Recorder()
    t = T0 + timedelta(microseconds=123_457)  # not on a second
    rtts = [None if n % 7 == 3 else 0.000_001 * (n % 50_000 + 1) for n in range(20 * 60)]
    sent = [t + n * S + n * timedelta(microseconds=37) for n in range(20 * 60)]
    for at, rtt in zip(sent, rtts, strict=True):
        rec.add(Probed.of([(A, ProbeResult(target="t", at=at, ok=rtt is not None, rtt=rtt))]))
    end = t + 20 * 60 * S
    incident = Incident(id=3, circuit="c1", start=t, detected=t + S, end=end - 4 * 60 * S)
    rec.capture(incident, "closed", end)
    [e] = rec.due(end + AFTER)
    [series] = e.series
    assert len(series.blocks) > 5  # packed blocks, shared; then the live block's part
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    lo, hi = e.start, e.end
    want = [n for n, w in enumerate(sent) if lo <= w <= hi]
    assert len(want) == 14 * 60  # from the end back 10 minutes, on to where results stop
    assert len(series) == e.count == len(want)  # counted from the headers, edges unpacked
    doc = json.loads(gzip.decompress(encode(e)))["results"]["active/primary"]
    assert doc["at_us"] == [(sent[n] - epoch) // timedelta(microseconds=1) for n in want]
    assert doc["rtt_ms"] == [None if rtts[n] is None else (n % 50_000 + 1) / 1000 for n in want]


def test_fifteen_minutes_of_a_target_take_under_four_bytes_a_result() -> None:
    rec = Recorder()
    for n in range(16 * 60):
        at = T0 + n * S + timedelta(microseconds=n * 7919 % 3000)  # a scheduler's jitter
        rtt = 0.000_010 + (n * 7907 % 40) / 1e6
        rec.add(Probed.of([(A, ProbeResult(target="t", at=at, ok=True, rtt=rtt))]))
    ring = rec._rings[A]
    held = sum(map(len, ring.blocks)) + 8 * len(ring.last.at)
    count = sum(len(unblock(b)[1]) for b in ring.blocks) + len(ring.last.at)
    assert 15 * 60 <= count <= 17 * 60 and held / count < 4


@given(st.lists(st.tuples(st.integers(0, SPAN_US - 1), st.integers(-1, 2**31 - 1)),
                max_size=300), st.booleans())  # fmt: skip
def test_a_block_reads_back_what_it_packed(results: list[tuple[int, int]], deflate: bool) -> None:
    at, rtt = array("I", [a for a, _ in results]), array("i", [r for _, r in results])
    base = 1_790_000_000_000_000
    one = block(base, at, rtt, deflate=deflate)
    assert unblock(one) == (base, at, rtt)
    if results:
        assert span(one) == (base + min(at), base + max(at))
