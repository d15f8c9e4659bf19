"""``slawatch replay --config CONFIG EVENTS.jsonl``: recorded events through the core, JSON out."""

from __future__ import annotations

import argparse
import json
import sys

from monitor import config, replay
from monitor.core.errors import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="replay recorded probe events and print incidents/credits")
    p.add_argument("--config", required=True, help="YAML configuration (circuits, fees, ...)")
    p.add_argument("events", help="JSON lines file of events in time order ('-' for stdin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = config.load(args.config)
    if args.events == "-":
        result = replay.run(settings, sys.stdin)
    else:
        try:
            with open(args.events, encoding="utf-8") as fh:
                result = replay.run(settings, fh)
        except OSError as exc:
            raise InputError(f"{args.events}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{args.events}: not UTF-8 text ({exc.reason})") from None
    json.dump(replay.summary(settings, result), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0
