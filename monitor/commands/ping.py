"""``slawatch ping``: an fping-like operator tool on the daemon's own ICMP engine.

Exit code 0 when every target answered at least once, 1 when some did not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from monitor.core.errors import InputError
from monitor.probes.icmp import IcmpEngine


@dataclass(slots=True)
class Summary:
    target: str
    sent: int = 0
    rtts: list[float] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        ms = [r * 1000 for r in self.rtts]
        return {
            "target": self.target,
            "sent": self.sent,
            "received": len(ms),
            "loss": 0.0 if not self.sent else 1 - len(ms) / self.sent,
            "min_ms": min(ms) if ms else None,
            "avg_ms": sum(ms) / len(ms) if ms else None,
            "max_ms": max(ms) if ms else None,
        }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ping", help="fping-like echo probes on slawatch's engine")
    p.add_argument("targets", nargs="*", metavar="TARGET", help="addresses or host names")
    p.add_argument("-f", "--file", help="read targets from FILE, one a line ('-': stdin)")
    p.add_argument("--count", type=int, default=1, help="rounds (default 1)")
    p.add_argument("--period", type=float, default=1.0, help="seconds between rounds")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for a reply")
    p.add_argument("--json", action="store_true", help="print a JSON list of summaries")
    p.set_defaults(func=run)


def read_targets(args: argparse.Namespace) -> list[str]:
    names = list(args.targets)
    if args.file:
        try:
            fh = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"{args.file}: cannot read: {exc.strerror}") from None
        with fh:
            names += [ln.split("#")[0].strip() for ln in fh if ln.split("#")[0].strip()]
    if not names:
        raise InputError("no targets: give addresses, or -f FILE")
    return [resolve(n) for n in names]


def resolve(name: str) -> str:
    """An address as given, or a host name resolved once."""
    try:
        return str(socket.getaddrinfo(name, None, type=socket.SOCK_RAW)[0][4][0])
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"{name!r} does not resolve: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.period < 0 or args.timeout <= 0:
        raise InputError("--count must be >= 1, --period >= 0 and --timeout > 0")
    targets = read_targets(args)
    summaries = asyncio.run(_rounds(targets, args.count, args.period, args.timeout))
    views = [s.view() for s in summaries]
    if args.json:
        print(json.dumps(views, indent=2))
    else:
        width = max(len(v["target"]) for v in views)
        for v in views:
            line = (
                f"{v['target']:<{width}} : xmt/rcv/%loss = {v['sent']}/{v['received']}/"
                f"{v['loss'] * 100:.0f}%"
            )
            if v["received"]:
                line += f", min/avg/max = {v['min_ms']:.3f}/{v['avg_ms']:.3f}/{v['max_ms']:.3f} ms"
            print(line)
    return 0 if all(v["received"] for v in views) else 1


async def _rounds(targets: list[str], count: int, period: float, timeout: float) -> list[Summary]:
    summaries = [Summary(target=t) for t in targets]
    loop = asyncio.get_running_loop()
    async with IcmpEngine() as engine:
        start = loop.time()
        for n in range(count):
            if n:
                await asyncio.sleep(max(start + n * period - loop.time(), 0))
            results = await engine.probe_many(targets, timeout=timeout)
            for s, r in zip(summaries, results, strict=True):
                s.sent += 1
                if r.ok and r.rtt is not None:
                    s.rtts.append(r.rtt)
    return summaries
