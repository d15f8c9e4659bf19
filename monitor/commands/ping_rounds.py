"""The work of ``slawatch ping`` (see ping.py): targets, rounds on the engine, summaries.

Kept apart from ping.py so that ``slawatch ping --help`` does not import the engine. The
rounds run the engine on ``SelectorLoop``, not asyncio's loop (see icmp_loop: importing
asyncio would cost this short command a tenth of its CPU).
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
from typing import Any, NamedTuple

from monitor.core.errors import InputError
from monitor.probes.icmp import IcmpEngine
from monitor.probes.icmp_flight import Batch
from monitor.probes.icmp_loop import SelectorLoop


class Summary(NamedTuple):
    """One target's tally over all rounds: ``target`` as given, echoes ``sent``, the ``rtts``
    of those answered (seconds). (Not a dataclass: this command loads no dataclass module.)"""

    target: str
    sent: int
    rtts: list[float]

    def view(self) -> dict[str, Any]:
        ms = [r * 1000 for r in self.rtts]
        return {
            "target": self.target,
            "sent": self.sent,
            "received": len(ms),
            "loss": 0.0 if not self.sent else 1 - len(ms) / self.sent,
            "min_ms": round(min(ms), 4) if ms else None,
            "avg_ms": round(sum(ms) / len(ms), 4) if ms else None,
            "max_ms": round(max(ms), 4) if ms else None,
        }

    def line(self, width: int) -> str:
        """The fping-style summary line, the target padded to ``width`` (one %-format each:
        thousands of lines, a measurable part of a short run when built piece by piece)."""
        rtts, sent = self.rtts, self.sent
        n = len(rtts)
        if not n:
            return _LOST % (width, self.target, sent)
        low, avg, high = min(rtts) * 1000, sum(rtts) / n * 1000, max(rtts) * 1000
        return _LINE % (width, self.target, sent, n, 100 - 100 * n / sent, low, avg, high)


_LOST = "%-*s : xmt/rcv/%%loss = %d/0/100%%"
_LINE = "%-*s : xmt/rcv/%%loss = %d/%d/%.0f%%, min/avg/max = %.3f/%.3f/%.3f ms"


def read_targets(args: argparse.Namespace) -> list[str]:
    """The targets as given: on the command line, or in FILE (``#`` comments, blank lines)."""
    names = list(args.targets)
    if args.file and names:
        raise InputError("give either -f FILE or TARGETs, not both")
    if args.file:
        try:
            fh = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"{args.file}: cannot read: {exc.strerror}") from None
        try:
            with fh:
                names = [ln.split("#")[0].strip() for ln in fh]
        except UnicodeDecodeError as exc:
            raise InputError(f"{args.file}: not UTF-8 text ({exc.reason})", "-f") from None
        names = [n for n in names if n]
    if not names:
        raise InputError("no targets: give addresses or host names, or -f FILE")
    return names


def resolve(name: str) -> str:
    """An address as given, or a host name resolved once (the first address getaddrinfo
    returns); InputError when it does not resolve."""
    family = socket.AF_INET6 if ":" in name else socket.AF_INET
    try:
        socket.inet_pton(family, name.split("%", 1)[0] if ":" in name else name)
        return name  # an address already: no resolver round trip for each of 4,096 targets
    except (OSError, ValueError):
        pass
    try:
        return str(socket.getaddrinfo(name, None, type=socket.SOCK_RAW)[0][4][0])
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InputError(f"target {name!r} does not resolve: {exc}") from None


def run(args: argparse.Namespace) -> int:
    for flag, seconds in (("--period", args.period), ("--timeout", args.timeout)):
        if not math.isfinite(seconds):  # nan passes every comparison below; inf never ends
            raise InputError(f"{flag} must be a finite number of seconds, not {seconds}", flag)
    if args.count < 1 or args.period < 0 or args.timeout <= 0:
        raise InputError("--count must be >= 1, --period >= 0 and --timeout > 0")
    names = read_targets(args)
    rounds = _rounds([resolve(n) for n in names], args.count, args.period, args.timeout)
    summaries = [  # a target's column across the rounds
        Summary(name, len(column), [rtt for rtt in column if rtt is not None])
        for name, column in zip(names, zip(*rounds, strict=True), strict=True)
    ]
    if args.json:  # one summary a line: json's C encoder (indent= would use the Python one)
        import json  # only here: start-up counts in a command this short

        print("[\n" + ",\n".join(json.dumps(s.view()) for s in summaries) + "\n]")
    else:
        width = max(len(s.target) for s in summaries)
        print("\n".join(s.line(width) for s in summaries))
    return 0 if all(s.rtts for s in summaries) else 1


def _rounds(
    addresses: list[str], count: int, period: float, timeout: float
) -> list[list[float | None]]:
    """``count`` rounds, each one echo to every address, starting ``period`` seconds apart
    however many earlier rounds are still in flight (as fping's ``-p``); every round's RTTs
    (seconds, None for a loss), in order."""
    loop, engine, rounds = SelectorLoop(), IcmpEngine(), list[Batch]()

    def launch() -> None:
        rounds.append(engine.submit(addresses, timeout=timeout))

    try:
        engine.start_on(loop)  # ProbeSetupError (exit 2) if no ICMP socket may be opened
        start = loop.time()
        for n in range(count):
            loop.call_at(start + n * period, launch)
        loop.run_until(lambda: len(rounds) == count and not any(b.left for b in rounds))
    finally:
        engine.stop()
        loop.close()
    return [b.rtts for b in rounds]
