"""``slawatch replay --config CONFIG EVENTS.jsonl``: recorded events through the core, JSON out."""

from __future__ import annotations

import argparse
import json
import sys

from monitor import config, replay


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
        result = replay.run_file(settings, args.events)
    json.dump(replay.summary(settings, result), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0
