"""``slawatch contract``: the contract calendar of SLA.md §5 for one cancellation.

Given the charge start date of each component, the day the cancellation notice reached the
carrier and the day the customer asked for, prints the effective end date and what ending
each component within its minimum period costs.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from monitor.core.contract import (
    Component,
    ComponentTerm,
    effective_date,
    termination_charges,
)
from monitor.core.errors import InputError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def _component(text: str) -> tuple[Component, date, int]:
    """COMPONENT=START:FEE, e.g. office365=2026-10-01:50000."""
    name, _, rest = text.partition("=")
    start, _, fee = rest.partition(":")
    try:
        return Component(name), date.fromisoformat(start), int(fee)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write COMPONENT=START:FEE, COMPONENT one of "
            f"{', '.join(c.value for c in Component)}, e.g. office365=2026-10-01:50000"
        ) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("contract", help="cancellation date and early-termination charge (§5)")
    p.add_argument("--billing-start", type=_date, required=True, help="base service start")
    p.add_argument("--fee", type=int, required=True, help="base monthly fee in yen")
    p.add_argument(
        "--option",
        type=_component,
        action="append",
        default=[],
        metavar="COMPONENT=START:FEE",
        help="an option with its own minimum period (office365, azure_public, "
        "static_nat); repeatable",
    )
    p.add_argument(
        "--notice",
        type=_date,
        required=True,
        help="the day the cancellation notice reached the carrier",
    )
    p.add_argument("--requested", type=_date, help="the end date the customer asked for")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fee < 0:
        raise InputError("--fee must not be negative")
    end = effective_date(args.notice, args.requested)
    terms = [
        ComponentTerm(component=Component.BASE, start=args.billing_start, monthly_fee_yen=args.fee)
    ]
    terms += [ComponentTerm(component=c, start=s, monthly_fee_yen=f) for c, s, f in args.option]
    charges = termination_charges(terms, end)
    total = sum(c.charge_yen for c in charges)
    if args.json:
        print(
            json.dumps(
                {
                    "effective_date": end.isoformat(),
                    "components": [
                        {
                            "component": c.component.value,
                            "minimum_period_last_day": c.minimum_period_last_day.isoformat(),
                            "remaining_days": c.remaining_days,
                            "charge": str(c.charge),
                            "charge_yen": c.charge_yen,
                        }
                        for c in charges
                    ],
                    "total_yen": total,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"notice reached the carrier {args.notice}; earliest end "
        f"{effective_date(args.notice)}; requested {args.requested or '-'}"
    )
    print(f"cancellation takes effect: {end}")
    for c in charges:
        print(
            f"  {c.component:<13} minimum period to {c.minimum_period_last_day} "
            f"(from {_start(terms, c.component)}): "
            f"{c.remaining_days}/{c.period_days} days left -> ¥{c.charge_yen:,}"
        )
    print(f"early-termination charge: ¥{total:,}")
    return 0


def _start(terms: list[ComponentTerm], component: Component) -> date:
    return next(t.start for t in terms if t.component is component)
