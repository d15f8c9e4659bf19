"""``slawatch check-config FILE``: validate a configuration and print what it describes.

It checks what ``slawatch run`` checks before starting: the YAML, then every file and
variable the configuration names (token, relay passwords and CA files, SNMP secrets, the
time-stamp authority's CA file), through the same code (service/preflight.py), and the claim
packs' signing key (``evidence.key_file``), which ``slawatch evidence`` reads. Exit 2 with
every problem; a token file others can read is a warning. ``--no-secrets`` checks the YAML
alone (on a machine that is not the daemon's).
"""

from __future__ import annotations

import argparse
import sys

from monitor import config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate a configuration file and summarise it")
    p.add_argument("file", help="YAML configuration file")
    p.add_argument(
        "--no-secrets",
        action="store_true",
        help="check the YAML only, not the files and variables it names (token, passwords, keys)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monitor.service.preflight import preflight

    s = config.load(args.file)
    # ConfigError naming each unreadable file; the signing key too, though only `evidence` uses it
    exposed = None if args.no_secrets else preflight(s, signing_key=True)
    if exposed:
        print(f"warning: {exposed}", file=sys.stderr)
    print(f"{s.source}: OK")
    print(
        f"  timezone {s.timezone}; fail_after {s.fail_after}, recover_after {s.recover_after}; "
        f"probe every {s.probe_interval_s:g} s, timeout {s.probe_timeout_s:g} s"
    )
    print(
        f"  journal {s.journal}; http {s.http.listen}, at most {s.http.max_connections} "
        f"connections, {s.http.request_timeout_s:g} s per request"
    )
    if s.cluster is not None:
        k = s.cluster
        print(
            f"  cluster: node {k.node}; lease {k.lease_s:g} s renewed every {k.renew_s:g} s: "
            f"a leader sends until {k.lease_s - 2 * k.renew_s:g} s after a renewal, the standby "
            f"takes over within {k.lease_s + k.renew_s:g} s"
        )
    controls = ", ".join(f"{t.name} ({t.address})" for t in s.control_targets) or "none"
    print(f"  control targets: {controls}")
    relays = ", ".join(f"{r.host}:{r.port}/{r.tls}" for r in s.notify.smtp)
    relays = relays or f"none (Maildir {s.notify.maildir})"
    print(f"  notify from {s.notify.from_}; relays: {relays}")
    for c in s.circuits:
        nat = (
            f"static NAT ¥{c.static_nat_fee_yen:,}/month"
            if c.static_nat_fee_yen
            else "no static NAT"
        )
        late = sum(m.window().told > m.start for m in c.maintenance)
        print(
            f"  circuit {c.id}: fee ¥{c.monthly_fee_yen:,}/month, {nat}, "
            f"tz {c.timezone or s.timezone}, {len(c.paths)} paths, {len(c.contacts)} contact(s), "
            f"{len(c.maintenance)} maintenance window(s)"
            + (f" ({late} announced after it began)" if late else "")
        )
        for p in c.paths:
            print(
                f"    {p.router}/{p.demarc} -> {p.address}"
                + (" (SNMP)" if p.probe == "snmp" else "")
            )
        for role, r in c.routers.items():
            polled = [f"{d} {i.if_name or i.if_descr}" for d, i in r.interfaces.items()]
            polled += [f"{d} BGP {peer}" for d, peer in r.bgp_peers.items()]
            print(
                f"    router {role}: SNMPv{r.snmp.version} {r.address}:{r.port} every "
                f"{r.poll_interval_s:g} s: {', '.join(polled) or 'nothing'}"
            )
    for gone in s.retired_circuits:
        print(
            f"  retired circuit {gone.id}: fee ¥{gone.monthly_fee_yen:,}/month, not monitored "
            f"since {gone.retired_at.isoformat()} (reported up to then)"
        )
    for cust in s.customers:
        print(f"  customer {cust.id} ({cust.name}): {', '.join(cust.circuits)}")
    if s.snmp_traps is not None:
        print(f"  SNMP traps on {s.snmp_traps.listen}, {len(s.snmp_traps.users)} v3 user(s)")
    return 0
