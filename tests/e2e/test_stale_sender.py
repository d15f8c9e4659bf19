"""A leader whose lease lapsed in the middle of retrying a delivery sends no more of it.

The relay answers 451 to DATA (a busy relay), so the leader's delivery of the OPENED notice
retries with backoff inside one claim (notify/mailer.py: rounds until CLAIM_BUDGET_S). The
leader is paused (SIGSTOP) between two tries; the standby takes over, claims the row left in
flight (same Message-ID) and delivers it once the relay takes mail again. Woken up, the old
leader's retry loop went on and delivered the notice a second time, 0.1 s later (found by an
attack on two nodes, which saw the same with the leader cut from PostgreSQL instead: 11.7 s
after the cut, its lease long over). It now asks before each try whether it may still send.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.two_nocs import (
    LEASE_S,
    RENEW_S,
    Pair,
    TwoNocs,
    built,
    paired,
    to,
    until,
)
from tests.notify.smtp_server import Received
from tests.store.pg_cluster import PgCluster

pytestmark = pytest.mark.netns

TAKEOVER_S = LEASE_S + RENEW_S
CUSTOMER = "fault@customer.example"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[TwoNocs, PgCluster]]:
    with built(f"k3{os.getpid() % 100000}") as made:
        yield made


@pytest.fixture
def pair(site: tuple[TwoNocs, PgCluster], tmp_path: Path) -> Iterator[Pair]:
    with paired(site, tmp_path) as p:
        yield p


def sender(pair: Pair, peer: str) -> str:
    return "noc-a" if peer == pair.topo.noc_mgmt_address else "noc-b"


def test_a_paused_leader_that_wakes_up_mid_retry_sends_nothing(pair: Pair) -> None:
    a, b = pair.start()
    pair.relay.script.tempfail_data = 10**6
    pair.topo.cut_all()
    until(lambda: pair.relay.handler.data_commands >= 1, 15, "noc-a trying the OPENED notice")
    a.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    until(b.leads, TAKEOVER_S + 10, "noc-b leading")
    pair.relay.script.tempfail_data = 0
    until(lambda: to(pair.relay, CUSTOMER, "opened"), 60, "noc-b's opened notice accepted")
    woke = time.monotonic()
    a.signal(signal.SIGCONT)
    log = a.daemon.log

    def after_wake() -> list[Received]:
        return [r for r in pair.relay.received if sender(pair, r.peer) == "noc-a" and r.at > woke]

    until(lambda: "this node may no longer send" in log.read_text(errors="replace")
          or after_wake(), 30, "noc-a's retry loop stopping, or sending")  # fmt: skip
    got = to(pair.relay, CUSTOMER, "opened")
    by = [(sender(pair, r.peer), round(r.at - stopped, 1)) for r in got]
    assert not after_wake(), f"noc-a sent after waking up (s after the SIGSTOP): {by}"
    assert list(Counter(r.message_id for r in got).values()) == [1], by
