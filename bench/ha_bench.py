"""Forced failovers of two NOC hosts (issue 13): the leader killed at random moments of outages.

    sudo .venv/bin/python bench/ha_bench.py [--rounds 20] [--seed 13]

Two real daemons in their own namespaces share one real PostgreSQL 15 journal and one SMTP
sink (tests/e2e/two_nocs.py; lease_s 6 s, renew_s 1 s, probes every 0.2 s). Each round: both
nodes up and fresh, every path cut (an outage), the leader killed with SIGKILL a random
0-3 s later (before it detected the outage, while it sends the notice, or after), the paths
restored once the other node has taken over and the notice is out, and the dead node started
again as the new standby. Then, per round:

* takeover time: from the kill (this host's wall clock) to the new holder's ``acquired_at``
  in the lease row (the database's clock: the same host's, here);
* duplicates: Message-IDs beyond one per recipient, per kind (opened, recovered), per incident,
  at the sink; and re-deliveries (the same Message-ID accepted twice, which a kill between the
  relay's 250 and the journal's record of it allows by design: same Message-ID, never a new
  one);
* lost: an incident with no accepted opened or recovered notice to the customer.

Prints a Markdown table and the figures (bound: lease_s + renew_s = 7 s).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.two_nocs import (  # noqa: E402
    LEASE_S,
    RENEW_S,
    Node,
    Pair,
    TwoNocs,
    open_database,
    ready,
    to,
    until,
)
from tests.notify.smtp_server import SmtpServer  # noqa: E402
from tests.store.pg_cluster import PgCluster  # noqa: E402

CUSTOMER = "fault@customer.example"
OTHER = {"noc": "nb", "nb": "noc"}


def leader(pair: Pair) -> Node:
    def found() -> Node | None:
        return next((n for n in pair.nodes.values() if n.leads()), None)

    lead = until(found, 20, "a leader")
    assert lead is not None
    return lead


def acquired(pair: Pair) -> tuple[str, datetime]:
    [[holder, at]] = pair.sql("SELECT holder, acquired_at FROM lease")
    return holder, datetime.fromtimestamp(int(at) / 1e6, UTC)


def one_round(pair: Pair, rng: random.Random) -> dict[str, object]:
    lead = leader(pair)
    other = pair.nodes[OTHER[lead.ns]]
    for n in (lead, other):
        until(partial(ready, n), 20, f"{n.name} up and fresh")
    opened = len(to(pair.relay, CUSTOMER, "opened"))
    recovered = len(to(pair.relay, CUSTOMER, "recovered"))
    pair.topo.cut_all()
    delay = rng.uniform(0.0, 3.0)
    time.sleep(delay)
    killed = datetime.now(UTC)
    lead.signal(signal.SIGKILL)
    lead.daemon.ensure_stopped()
    until(lambda: acquired(pair)[0] == other.name, 20, f"{other.name} holding the lease")
    holder, at = acquired(pair)
    until(lambda: len(to(pair.relay, CUSTOMER, "opened")) > opened, 20, "the opened notice")
    pair.topo.restore_all()
    until(lambda: len(to(pair.relay, CUSTOMER, "recovered")) > recovered, 20, "the recovery")
    pair.launch(lead.ns)  # the dead node comes back as the standby
    return {"kill_after_s": delay, "takeover_s": (at - killed).total_seconds(), "by": holder}


def tally(pair: Pair) -> tuple[int, int, int, int]:
    """(incidents, duplicate Message-IDs, re-deliveries, lost notices) over the whole run."""
    ids: dict[tuple[str, str, str], set[str]] = {}
    deliveries: Counter[tuple[str, str]] = Counter()
    for r in pair.relay.received:
        parts = r.message_id.split(".")
        if len(parts) < 6 or parts[4] not in ("opened", "recovered"):
            continue
        for rcpt in r.rcpt_tos:
            ids.setdefault((parts[3], parts[4], rcpt), set()).add(r.message_id)
            deliveries[(r.message_id, rcpt)] += 1
    incidents = [i for (i,) in pair.sql("SELECT id FROM incidents")]
    dupes = sum(len(v) - 1 for v in ids.values())
    again = sum(n - 1 for n in deliveries.values())
    lost = sum((i, k, CUSTOMER) not in ids for i in incidents for k in ("opened", "recovered"))
    return len(incidents), dupes, again, lost


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    topo = TwoNocs.build_two(f"hb{os.getpid() % 100000}")
    pg = PgCluster.start()
    tmp = Path(tempfile.mkdtemp(prefix="slawatch-ha-bench-"))
    rounds: list[dict[str, object]] = []
    try:
        open_database(pg, topo.hub)
        with SmtpServer(host=topo.hub) as relay:
            pair = Pair(topo, pg, tmp, relay)
            try:
                pair.start()
                for n in range(args.rounds):
                    rounds.append(one_round(pair, rng))
                    r = rounds[-1]
                    print(f"round {n + 1}: killed {r['kill_after_s']:.2f} s into the outage, "
                          f"takeover {r['takeover_s']:.3f} s by {r['by']}", file=sys.stderr,
                          flush=True)  # fmt: skip
                time.sleep(2 * RENEW_S)
                incidents, dupes, again, lost = tally(pair)
            finally:
                pair.stop()
    finally:
        pg.remove()
        topo.teardown()
    took = sorted(float(str(r["takeover_s"])) for r in rounds)
    print(f"| rounds | takeover min / median / max | bound | incidents | duplicate "
          f"Message-IDs | re-deliveries | lost |\n|---:|---|---:|---:|---:|---:|---:|\n"
          f"| {len(rounds)} | {took[0]:.2f} / {statistics.median(took):.2f} / {took[-1]:.2f} s "
          f"| {LEASE_S + RENEW_S:g} s | {incidents} | {dupes} | {again} | {lost} |")  # fmt: skip
    return 0 if dupes == 0 and lost == 0 and took[-1] <= LEASE_S + RENEW_S else 1


if __name__ == "__main__":
    sys.exit(main())
