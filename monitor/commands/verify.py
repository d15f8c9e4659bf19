"""``slawatch verify``: walk the journal's hash chain and check every chained row.

    slawatch verify [--config FILE | --journal FILE_OR_URL]

Exit 0 with the head (record number and hash, to compare with a head held elsewhere: a
notice's ``X-Slawatch-Chain-Head``, an RFC 3161 token) and the count of records; exit 1
naming the first broken record and what is wrong with it (store/verify.py).
"""

from __future__ import annotations

import argparse
import sys

from monitor import config
from monitor.commands.report import open_journal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check the journal's hash chain and every chained row")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--config", help="YAML configuration: its journal (default: the demo's)")
    where.add_argument("--journal", help="the journal: a SQLite file or a postgresql:// URL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = config.load_or_demo(args.config)
    where = args.journal or settings.journal
    password = None if args.journal else settings.journal_password_file
    store = open_journal(where, args.journal, password, check=True)
    try:
        check = store.verify()
    finally:
        store.close()
    if check.ok:
        print(f"chain intact: {check.records} records; head {check.head.text}")
        return 0
    print(f"chain broken: {check.problem}", file=sys.stderr)
    print(f"intact up to {check.head.text}", file=sys.stderr)
    return 1
