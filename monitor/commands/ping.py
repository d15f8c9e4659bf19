"""``slawatch ping``: an fping-like operator tool on the daemon's own ICMP engine.

    slawatch ping [-f FILE | TARGET...] [--count N] [--period S] [--timeout S] [--json]

One line per target, like fping's summary (``-C``/``-c`` with ``-q``)::

    198.18.2.2 : xmt/rcv/%loss = 5/5/0%, min/avg/max = 0.031/0.052/0.090 ms

``--json`` prints a list of ``{"target", "sent", "received", "loss", "min_ms", "avg_ms",
"max_ms"}`` (loss a fraction 0..1; the ms fields null when nothing came back). Exit code 0
when every target answered at least once, 1 when some did not (as fping), 2 for bad input.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Sequence
from typing import Any, NoReturn

FPING = {"-c": "--count", "-C": "--count", "-p": "--period", "-t": "--timeout"}
"""fping's flags for what ping takes under its own name: refused, naming ours."""


class _Fping(argparse.Action):
    """``-c 1`` said only "unrecognized arguments: -c": say which flag of ours it is. Nothing
    new is accepted (one spelling per option)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> NoReturn:
        flag = option_string or self.option_strings[0]
        parser.error(f"{flag} is fping's; slawatch ping takes {FPING[flag]}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ping", help="fping-like echo probes on slawatch's engine")
    p.add_argument(*FPING, action=_Fping, nargs="?", help=argparse.SUPPRESS)
    p.add_argument("targets", nargs="*", metavar="TARGET", help="addresses or host names")
    p.add_argument("-f", "--file", help="read targets from FILE, one a line ('-': stdin)")
    p.add_argument("--count", type=int, default=1, help="rounds (default 1)")
    p.add_argument("--period", type=float, default=1.0, help="seconds between rounds (1.0)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds to wait per echo (1.0)")
    p.add_argument("--json", action="store_true", help="print a JSON list of summaries")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Nothing ping makes (imports included) needs the cycle collector, which would walk every
    # probe record in flight over and over: a short-lived command can do without.
    gc.disable()
    from monitor.commands import ping_rounds  # asyncio and the engine: not for --help

    return ping_rounds.run(args)
