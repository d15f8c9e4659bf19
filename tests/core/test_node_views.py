"""Each NOC host's own view of an outage (core/vantage.py outage_seen): when it saw every
path down, whole, overlapping the incident's interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.model import PathState
from monitor.core.vantage import Change, outage_seen

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)
NAMES = ("active/primary", "active/secondary", "standby/primary", "standby/secondary")
DOWN, UP = PathState.DOWN, PathState.UP


def all_(state: PathState, at: datetime) -> list[Change]:
    return [(n, state, at) for n in NAMES]


def test_a_node_s_view_is_when_its_last_path_failed_to_when_its_first_answered() -> None:
    changes = [
        *all_(UP, T0 - 99 * S),
        ("active/primary", DOWN, T0),
        ("active/secondary", DOWN, T0 + S),
        ("standby/primary", DOWN, T0 + 2 * S),
        ("standby/secondary", DOWN, T0 + 3 * S),
        ("standby/primary", UP, T0 + 40 * S),
        ("active/primary", UP, T0 + 41 * S),
    ]
    assert outage_seen(changes, 4, T0 + 5 * S, T0 + 38 * S) == [(T0 + 3 * S, T0 + 40 * S)]


def test_the_view_is_whole_though_the_incident_is_the_intersection() -> None:
    changes = [*all_(DOWN, T0), *all_(UP, T0 + 60 * S)]
    # the incident (the intersection with another node's view) is shorter: this view is kept
    assert outage_seen(changes, 4, T0 + 10 * S, T0 + 50 * S) == [(T0, T0 + 60 * S)]


def test_still_down_is_open_and_a_missing_path_is_not_down() -> None:
    assert outage_seen(all_(DOWN, T0), 4, T0, T0 + S) == [(T0, None)]
    assert outage_seen(all_(DOWN, T0)[:3], 4, T0, T0 + S) == []  # one path never reported


def test_spans_that_miss_the_incident_are_left_out() -> None:
    changes = [*all_(DOWN, T0), *all_(UP, T0 + 5 * S), *all_(DOWN, T0 + 20 * S)]
    changes += all_(UP, T0 + 30 * S)
    assert outage_seen(changes, 4, T0 + 21 * S, T0 + 25 * S) == [(T0 + 20 * S, T0 + 30 * S)]
    assert outage_seen(changes, 4, T0 + 6 * S, T0 + 19 * S) == []
    assert outage_seen(changes, 4, T0, T0 + 40 * S) == [
        (T0, T0 + 5 * S),
        (T0 + 20 * S, T0 + 30 * S),
    ]


def test_one_node_of_one_path() -> None:
    changes: list[Change] = [("p", DOWN, T0), ("p", UP, T0 + S), ("p", DOWN, T0 + 2 * S)]
    assert outage_seen(changes, 1, T0, T0 + 9 * S) == [(T0, T0 + S), (T0 + 2 * S, None)]


steps = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from([DOWN, UP, PathState.UNKNOWN])),
    max_size=40,
)


@given(steps)
def test_a_view_is_exactly_the_instants_every_path_was_down(
    seq: list[tuple[str, PathState]],
) -> None:
    changes = [(name, state, T0 + i * S) for i, (name, state) in enumerate(seq)]
    end = T0 + len(seq) * S
    spans = outage_seen(changes, len(NAMES), T0, end + S)
    for i in range(len(seq)):  # the state just after change i, checked against the spans
        now: dict[str, PathState] = {}
        for name, state, _ in changes[: i + 1]:
            now[name] = state
        down = len(now) == len(NAMES) and all(s is DOWN for s in now.values())
        at = T0 + i * S
        inside = any(lo <= at and (hi is None or at < hi) for lo, hi in spans)
        assert inside == down, (i, now, spans)
    assert all(hi is None or lo < hi for lo, hi in spans)
