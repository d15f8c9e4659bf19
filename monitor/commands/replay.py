"""``slawatch replay --config CONFIG EVENTS.jsonl``: recorded events through the core, JSON out."""

from __future__ import annotations

import argparse
import json
import sys

from monitor import config
from monitor.core import replay
from monitor.core.errors import InputError
from monitor.core.plan import Plan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="replay recorded probe events and print incidents/credits")
    p.add_argument("--config", required=True, help="YAML configuration (circuits, fees, ...)")
    p.add_argument("events", help="JSON lines file of events in time order ('-' for stdin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = config.load(args.config).plan()
    result = replay_file(plan, args.events)
    json.dump(replay.summary(plan, result), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def replay_file(plan: Plan, path: str, label: str | None = None) -> replay.ReplayResult:
    """:func:`replay.run` over a JSON-lines file (``-``: stdin); ``label`` names it in errors,
    before the line's number (default: the path, or ``stdin``)."""
    label = label or ("stdin" if path == "-" else path)
    try:
        if path == "-":
            return replay.run(plan, sys.stdin)
        with open(path, encoding="utf-8") as fh:
            return replay.run(plan, fh)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text ({exc.reason})") from None
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
