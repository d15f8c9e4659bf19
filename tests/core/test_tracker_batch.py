"""``Tracker.observe_batch`` (its fast path for results that change nothing) agrees with
``observe`` / ``observe_control`` one result at a time: the same events, the same refusals,
the same states, over random streams (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.errors import InputError
from monitor.core.events import Event
from monitor.core.inputs import Control
from monitor.core.model import Demarc, PathKey, Router
from monitor.core.tracker import CircuitSpec, Tracker
from tests.core.helpers import CID, PATHS, T0, tracker

S = timedelta(seconds=1)
STRANGER = PathKey(circuit="nowhere", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
TARGETS: tuple[PathKey | Control, ...] = (*PATHS, Control(name="gw"), STRANGER)

# one result: (which target, seconds after the last result of the stream: -2..3, ok)
result = st.tuples(st.integers(0, len(TARGETS) - 1), st.integers(-2, 3), st.booleans())
# the stream in batches; between two batches maybe a reload with new thresholds
batches = st.lists(
    st.tuples(
        st.lists(result, max_size=12),
        st.none() | st.tuples(st.integers(1, 4), st.integers(1, 4)),
    ),
    min_size=1,
    max_size=40,
)
thresholds = st.tuples(st.integers(1, 4), st.integers(1, 4))


def state(t: Tracker) -> list[object]:
    """Everything a result can change: each machine's fields, the circuit's, the blindness."""
    machines = [t._paths[p][0] for p in PATHS] + [t._controls["gw"]]
    circuit = t._circuits[CID]
    return [
        *[tuple(getattr(h, f) for f in h.__slots__) for h in machines],
        circuit.first_seen, circuit.open, tuple(circuit.recent), t.blind_spans(),
    ]  # fmt: skip


def reload(t: Tracker, fail_after: int, recover_after: int) -> None:
    t.update_circuit(
        CircuitSpec(id=CID, paths=PATHS, fail_after=fail_after, recover_after=recover_after)
    )


@settings(max_examples=400, deadline=None)
@given(batches, thresholds)
def test_a_batch_is_the_results_one_at_a_time(
    stream: list[tuple[list[tuple[int, int, bool]], tuple[int, int] | None]],
    th: tuple[int, int],
) -> None:
    slow, fast = tracker(*th, controls=["gw"]), tracker(*th, controls=["gw"])
    at = T0
    for results, again in stream:
        keys, ats, oks = [], [], []
        for i, step, ok in results:
            at += step * S
            keys.append(TARGETS[i])
            ats.append(at)
            oks.append(ok)
        events: list[Event] = []
        refused: list[PathKey | Control] = []
        for key, when, ok in zip(keys, ats, oks, strict=True):
            try:
                if isinstance(key, Control):
                    events += slow.observe_control(key.name, when, ok)
                else:
                    events += slow.observe(key, when, ok)
            except InputError:
                refused.append(key)
        assert fast.observe_batch(keys, ats, oks) == (events, refused)
        assert state(fast) == state(slow)
        if again is not None:
            reload(slow, *again)
            reload(fast, *again)


def test_steady_results_change_nothing_but_the_run() -> None:
    """The fast path's own case, spelled out: a path up answering again (and one down
    failing again) only lengthens its run and moves its last time."""
    t = tracker(controls=["gw"])
    for s in range(3):
        t.observe_batch([*PATHS, Control(name="gw")], [T0 + s * S] * 5, [True] * 4 + [True])
    h = t._paths[PATHS[0]][0]
    assert (h.state.value, h.run_len, h.last_at) == ("up", 3, T0 + 2 * S)
    events, refused = t.observe_batch(list(PATHS), [T0 + 3 * S] * 4, [True] * 4)
    assert (events, refused) == ([], [])
    assert (h.run_len, h.last_at, h.since) == (4, T0 + 3 * S, T0)
    stale = t.observe_batch([PATHS[0], PATHS[1]], [T0 + 2 * S, T0 + 4 * S], [True, True])
    assert stale == ([], [PATHS[0]])  # older than its last: refused, the rest taken
    assert (h.run_len, h.last_at) == (4, T0 + 3 * S)


def test_a_circuit_not_seen_yet_takes_the_slow_path() -> None:
    """A circuit with no first result recorded (``first_seen`` None) has its first one
    reported (MonitoringStarted), however steady its paths' machines are: the fast path
    checks it, and does not lose the event."""
    slow, fast = tracker(), tracker()
    for t in (slow, fast):
        for s in range(3):
            t.observe_batch(list(PATHS), [T0 + s * S] * 4, [True] * 4)
        t._circuits[CID].first_seen = None  # as no public call leaves it, but the state allows
    expected = [e for p in PATHS for e in slow.observe(p, T0 + 3 * S, True)]
    assert [type(e).__name__ for e in expected] == ["MonitoringStarted"]
    assert fast.observe_batch(list(PATHS), [T0 + 3 * S] * 4, [True] * 4) == (expected, [])
