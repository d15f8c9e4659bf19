"""``slawatch`` command line: parses arguments and hands off to one command module.

Start-up is lazy: the table below names every sub-command, its module and its one-line help,
so ``slawatch --help`` imports no command module at all, and ``slawatch COMMAND ...`` imports
only COMMAND's module (whose ``register(subparsers)`` adds its arguments). So ``slawatch
ping`` never loads pydantic, aiohttp, prometheus_client or APScheduler, and ``--help`` takes
about as long as the interpreter's own start-up.

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

COMMANDS: dict[str, tuple[str, str]] = {
    "check-config": ("check_config", "validate a configuration file and summarise it"),
    "contract": ("contract", "cancellation date and early-termination charge (§5)"),
    "evidence": (
        "evidence",
        "a signed claim pack (INCIDENT_ID or --month/--circuit), keygen, or verify PACK",
    ),
    "notify-test": ("notify_test", "send a test notice through each configured relay"),
    "status": ("ops", "circuits, paths and open incidents with their countdown"),
    "incidents": ("ops", "list incidents with their SLA figures"),
    "incident": ("ops", "one incident: figures and timeline"),
    "exclude": (
        "ops",
        "exclude an incident from credits (Article 8 §2: not the carrier's fault), or withdraw "
        "its exclusion",
    ),
    "maintenance": ("ops", "announced suspensions: add, list, remove"),
    "ping": ("ping", "fping-like echo probes on slawatch's engine"),
    "replay": ("replay", "replay recorded probe events and print incidents/credits"),
    "report": ("report", "a month's SLA report per circuit (text, md, csv, ...)"),
    "run": ("run", "run the monitoring daemon"),
    "verify": ("verify", "check the journal's hash chain and every chained row"),
}
"""Sub-command -> (module under monitor.commands, help). A module's ``register`` adds every
command that names it here, with the same help (tests/test_cli.py holds the two together)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit 2), not the usage block:
    the line names the argument and what is wrong, and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names: its first word that is not an option (the top-level
    options, --help and --version, take no value), or None."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: the chosen command's module registers its own arguments; every
    other command is a name and a help line (enough to list it and to refuse a typo)."""
    parser = Parser(
        prog="slawatch", description="Prove, minute by minute, whether a carrier kept its SLA."
    )
    parser.add_argument("--version", action="version", version=f"slawatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = chosen_command(argv)
    module = COMMANDS[chosen][0] if chosen else None
    for name, (mod, help_text) in COMMANDS.items():
        if mod == module:
            if name not in sub.choices:  # its first command: register them all
                importlib.import_module(f"monitor.commands.{mod}").register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(args_in).parse_args(args_in)
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
