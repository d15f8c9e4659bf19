"""``slawatch`` command line: parses arguments and hands off to one command module.

Exit codes: 0 success, 1 the command ran but found a problem, 2 bad input or configuration
(a ``MonitorError``: one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from monitor import __version__
from monitor.core.errors import MonitorError

# Each name is a module under monitor/commands with register(subparsers).
COMMANDS = (
    "check_config",
    "contract",
    "evidence",
    "notify_test",
    "ops",
    "ping",
    "replay",
    "report",
    "run",
    "verify",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit 2), not the usage block:
    the line names the argument and what is wrong, and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="slawatch", description="Prove, minute by minute, whether a carrier kept its SLA."
    )
    parser.add_argument("--version", action="version", version=f"slawatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"monitor.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except MonitorError as exc:
        print(f"slawatch {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `slawatch report | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code
