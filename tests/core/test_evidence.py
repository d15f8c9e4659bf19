"""The probe-evidence recorder, stepped by hand: what is kept, what a capture holds."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from monitor.core.evidence import AFTER, BEFORE, KEEP, Recorder, encode
from monitor.core.inputs import Control, SnmpReading
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
        rec.add([(k, ProbeResult(target="t", at=at, ok=ok, rtt=0.002 if ok else None))
                 for k in (A, B, CTRL)])  # fmt: skip


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


def test_results_stay_exact_across_a_new_run_of_offsets() -> None:
    """Send times are kept as uint32 microseconds after a run's base: a new run starts every
    71.6 minutes; a window across the seam reads back every result, to the microsecond."""
    rec = Recorder()
    t = T0 + timedelta(microseconds=123_457)  # not on a second
    feed(rec, t, 75 * 60, True)  # 75 minutes: past one run's 2**32 microseconds
    end = t + 75 * 60 * S
    incident = Incident(id=3, circuit="c1", start=t, detected=t + S, end=t + 72 * 60 * S)
    rec.capture(incident, "closed", end)
    feed(rec, end, 3 * 60, True)
    [e] = rec.due(incident.end + AFTER)  # type: ignore[operator]
    mine = [s for s in e.samples if s.target == "active/primary"]
    first = incident.end - BEFORE  # type: ignore[operator]
    want = [first + n * S for n in range(15 * 60 + 1)]
    assert [s.at for s in mine] == [w.timestamp() for w in want]
    [doc] = [json.loads(gzip.decompress(encode(e)))["results"]["active/primary"]]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert doc["at_us"] == [(w - epoch) // timedelta(microseconds=1) for w in want]
    assert len(next(one for one in e.series if one.target == "active/primary").runs) == 2
