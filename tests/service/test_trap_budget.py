"""The trap evidence budget, with time stepped by hand (monotonic seconds)."""

from __future__ import annotations

from monitor.service.trap_budget import TrapBudget


def test_a_few_traps_are_all_kept_a_flood_at_a_rate_with_the_count_held_back() -> None:
    budget = TrapBudget(burst=3, per_s=1.0)
    assert [budget.take("p", 0.0) for _ in range(5)] == [0, 0, 0, None, None]
    assert budget.take("q", 0.0) == 0  # each path has its own
    assert budget.take("p", 0.5) is None  # half a trap's worth refilled
    assert budget.take("p", 1.0) == 3  # one more, and the three held back before it
    assert budget.take("p", 1.0) is None
    assert [budget.take("p", 100.0) for _ in range(4)] == [1, 0, 0, None]  # full again: 3


def test_a_clock_going_back_refills_nothing() -> None:
    budget = TrapBudget(burst=1, per_s=1.0)
    assert budget.take("p", 10.0) == 0
    assert budget.take("p", 5.0) is None
    assert budget.take("p", 5.5) is None  # from 5.0: half refilled
    assert budget.take("p", 6.0) == 2


def test_a_reload_forgets_removed_paths() -> None:
    budget = TrapBudget(burst=1, per_s=1.0)
    budget.take("gone", 0.0)
    budget.take("kept", 0.0)
    budget.retain({"kept"})
    assert budget.take("gone", 0.0) == 0  # a fresh budget
    assert budget.take("kept", 0.0) is None
