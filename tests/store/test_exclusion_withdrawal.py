"""Withdrawing an exclusion, on every backend (SQLite and PostgreSQL): the incident earns its
credits again, the exclusion withdrawn and the withdrawal are kept as a fact of their own
(chained: a wrong exclusion is undone without editing the journal, which would break the
chain), and what cannot be withdrawn is refused, writing nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.errors import InputError, NotFoundError
from monitor.core.model import Withdrawal
from monitor.core.tracker import Incident, IncidentClosed, IncidentOpened
from monitor.store.sql import SqlStore
from tests.store.backends import Backend

T0 = datetime(2026, 10, 7, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def opened(store: SqlStore, n: int = 1) -> Incident:
    i = Incident(id=n, circuit="c1", start=T0, detected=T0 + 2 * S)
    store.record([IncidentOpened(incident=i)])
    return i


def test_a_withdrawn_exclusion_is_kept_beside_the_incident(store: SqlStore) -> None:
    opened(store)
    store.exclude(1, "customer power", T0 + 5 * S)
    incident, done = store.withdraw_exclusion(1, " it was our fibre ", T0 + 9 * S)
    assert incident.excluded is None and store.incident(1) == incident
    assert done == Withdrawal(
        id=done.id,
        incident=1,
        circuit="c1",
        excluded="customer power",
        excluded_at=T0 + 5 * S,
        reason="it was our fibre",
        at=T0 + 9 * S,
    )
    assert done.id is not None and store.withdrawals() == store.withdrawals(1) == [done]
    assert store.withdrawals(2) == []
    [restored] = store.restore().incidents
    assert restored.excluded is None  # a restart does not bring it back
    shown = [(e.at, e.text) for e in store.timeline(1, T0 + 20 * S) if e.kind == "exclusion"]
    assert shown == [(T0 + 5 * S, "excluded: customer power"),
                     (T0 + 9 * S, "exclusion withdrawn: it was our fibre")]  # fmt: skip
    check = store.verify()
    assert check.ok, check.problem
    # excluded again, for another reason: both stand on record
    assert store.exclude(1, "customer work after all", T0 + 30 * S).excluded is not None
    _, again = store.withdraw_exclusion(1, "no", T0 + 40 * S)
    assert [w.excluded for w in store.withdrawals()] == [
        "customer power",
        "customer work after all",
    ]
    assert again.excluded_at == T0 + 30 * S
    assert store.verify().ok


def test_what_cannot_be_withdrawn_is_refused_and_nothing_written(store: SqlStore) -> None:
    opened(store)
    with pytest.raises(NotFoundError, match="no incident 7"):
        store.withdraw_exclusion(7, "wrong", T0)
    with pytest.raises(InputError, match=r"incident 1 is not excluded; nothing to withdraw"):
        store.withdraw_exclusion(1, "wrong", T0)
    store.exclude(1, "customer power", T0 + S)
    head = store.head()
    with pytest.raises(InputError, match="needs a reason"):
        store.withdraw_exclusion(1, "  ", T0 + 2 * S)
    assert store.head() == head and store.incident(1).excluded == "customer power"  # type: ignore[union-attr]
    store.withdraw_exclusion(1, "wrong incident", T0 + 3 * S)
    head = store.head()
    with pytest.raises(InputError) as again:
        store.withdraw_exclusion(1, "wrong incident", T0 + 4 * S)
    assert str(again.value) == (
        "incident 1 is not excluded: its exclusion ('customer power') was withdrawn at "
        "2026-10-07T01:00:03+00:00 ('wrong incident'); nothing to withdraw"
    )
    assert store.head() == head and len(store.withdrawals()) == 1


def test_an_exclusion_still_stands_until_withdrawn(store: SqlStore) -> None:
    opened(store)
    store.exclude(1, "customer power", T0)
    with pytest.raises(InputError, match="withdraw it first"):
        store.exclude(1, "another", T0 + S)


def test_the_incident_s_own_writes_leave_the_withdrawal_alone(backend: Backend) -> None:
    """The daemon closes an incident after its exclusion was withdrawn: the close does not
    bring the exclusion back, and a restart restores it withdrawn."""
    store = backend.open()
    try:
        i = opened(store)
        store.exclude(1, "customer power", T0 + S)
        store.withdraw_exclusion(1, "wrong", T0 + 2 * S)
        store.record([IncidentClosed(incident=replace(i, end=T0 + 60 * S))])
        assert store.incident(1).excluded is None  # type: ignore[union-attr]
    finally:
        store.close()
    again = backend.open()
    try:
        [restored] = again.restore().incidents
        assert restored.excluded is None and restored.end == T0 + 60 * S
        assert len(again.withdrawals()) == 1 and again.verify().ok
    finally:
        again.close()
