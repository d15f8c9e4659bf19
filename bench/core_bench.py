"""Push 1,000,000 probe results through the tracker; print results per second (best of 3).

    .venv/bin/python bench/core_bench.py [--results N] [--supervisor]

2,500 circuits x 4 paths x 100 ticks; every 10th circuit has a full outage in the middle so
some transitions and incidents happen. Target (issue 2): >= 500,000 results/s on one core.
``--supervisor`` feeds the same results to the whole decision-maker instead (core/supervisor.py:
one ``Probed`` batch of 10,000 results a tick, as the daemon does, with its records, sends,
metrics and deadline ledger), so the cost of the one-decision-maker design shows beside the
tracker's alone.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from monitor.core.assess import CircuitTerms
from monitor.core.deadlines import policy_groups
from monitor.core.effects import Record
from monitor.core.inputs import Probed
from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.core.plan import CircuitPlan, NotifyPlan, PathPlan, Plan
from monitor.core.supervisor import Supervisor
from monitor.core.tracker import CircuitSpec, IncidentOpened, Tracker

T0 = datetime(2026, 10, 7, tzinfo=UTC)


def build(circuits: int) -> tuple[Tracker, list[PathKey]]:
    specs, keys = [], []
    for c in range(circuits):
        paths = tuple(PathKey(circuit=f"c{c}", router=r, demarc=d) for r in Router for d in Demarc)
        specs.append(CircuitSpec(id=f"c{c}", paths=paths))
        keys += paths
    return Tracker(specs), keys


def supervisor(circuits: int) -> tuple[Supervisor, list[PathKey]]:
    plans, keys = [], []
    for c in range(circuits):
        cid = f"c{c}"
        paths = tuple(
            PathPlan(key=PathKey(circuit=cid, router=r, demarc=d), address=f"{cid}-{r}-{d}")
            for r in Router
            for d in Demarc
        )
        terms = CircuitTerms(circuit=cid, fee_yen=300_000, tz=UTC)
        groups = policy_groups([f"fault@{cid}.example"], [])
        plans.append(CircuitPlan(id=cid, paths=paths, terms=terms, groups=groups, interval_s=1.0))
        keys += [p.key for p in paths]
    plan = Plan(circuits=tuple(plans), notify=NotifyPlan(noc=("noc@carrier.example",)))
    sup = Supervisor(plan)
    sup.start(T0)
    return sup, keys


def once_supervisor(circuits: int, ticks: int) -> tuple[float, int, int]:
    sup, keys = supervisor(circuits)
    flaky = {k for k in keys if int(k.circuit[1:]) % 10 == 0}
    outage = set(range(ticks // 3, ticks // 3 + 20))
    batches = []
    for i in range(ticks):
        at = T0 + timedelta(seconds=i)
        down = i in outage
        batches.append((at, Probed.of(
            (k, ProbeResult(target=k.name, at=at, ok=ok, rtt=0.001 if ok else None))
            for k in keys for ok in (not (down and k in flaky),)
        )))  # fmt: skip
    incidents = results = 0
    start = time.perf_counter()
    for at, batch in batches:
        for effect in sup.handle(batch, at):
            if isinstance(effect, Record):
                incidents += sum(isinstance(f, IncidentOpened) for f in effect.facts)
        results += len(batch)
    return time.perf_counter() - start, results, incidents


def once(circuits: int, ticks: int) -> tuple[float, int, int]:
    tracker, keys = build(circuits)
    times = [T0 + timedelta(seconds=i) for i in range(ticks)]
    outage = set(range(ticks // 3, ticks // 3 + 20))
    flaky = {k for k in keys if int(k.circuit[1:]) % 10 == 0}
    observe = tracker.observe
    incidents = results = 0
    start = time.perf_counter()
    for i, at in enumerate(times):
        down = i in outage
        for key in keys:
            events = observe(key, at, not (down and key in flaky))
            if events:
                incidents += sum(isinstance(e, IncidentOpened) for e in events)
        results += len(keys)
    return time.perf_counter() - start, results, incidents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--supervisor", action="store_true", help="through the supervisor")
    args = parser.parse_args()
    circuits, ticks = 2_500, max(args.results // 10_000, 1)
    run, through = (once_supervisor, "supervisor") if args.supervisor else (once, "tracker")
    best = None
    for _ in range(3):
        elapsed, results, incidents = run(circuits, ticks)
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    print(
        f"{results:,} results through the {through} ({circuits:,} circuits x 4 paths x "
        f"{ticks} ticks), {incidents} incidents: best {best:.3f} s = "
        f"{results / best:,.0f} results/s"
    )


if __name__ == "__main__":
    main()
