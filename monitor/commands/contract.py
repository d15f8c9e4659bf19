"""``slawatch contract``: the contract calendar of SLA.md §5 for one cancellation.

Given the charge start date of each component, the day the cancellation notice reached the
carrier and the day the customer asked for, prints the effective end date and what ending
each component within its minimum period costs.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from fractions import Fraction

from monitor.core.bounds import EARLIEST, LATEST
from monitor.core.contract import Component, ComponentTerm, Termination, effective_date, terminate
from monitor.core.errors import InputError

OPTIONS = tuple(c for c in Component if c is not Component.BASE)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def _option(text: str) -> tuple[Component, date, int]:
    """OPTION=START:FEE, e.g. office365=2026-10-01:50000."""
    name, _, rest = text.partition("=")
    if name == Component.BASE:
        raise argparse.ArgumentTypeError(
            "base is the base service, not an option: give it with --billing-start and --fee"
        )
    start, _, fee = rest.partition(":")
    try:
        component = Component(name)
        return component, date.fromisoformat(start), int(fee)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write OPTION=START:FEE, OPTION one of "
            f"{', '.join(OPTIONS)}, e.g. office365=2026-10-01:50000"
        ) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("contract", help="cancellation date and early-termination charge (§5)")
    p.add_argument("--billing-start", type=_date, required=True, help="base service start")
    p.add_argument("--fee", type=int, required=True, help="base monthly fee in yen")
    p.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="OPTION=START:FEE",
        help="an option with its own minimum period (office365, azure_public, static_nat), "
        "each at most once",
    )
    p.add_argument(
        "--notice",
        type=_date,
        required=True,
        help="the day the cancellation notice reached the carrier",
    )
    p.add_argument("--requested", type=_date, help="the last day of service the customer asked for")
    p.add_argument(
        "--no-charge-reason",
        metavar="TEXT",
        help="the customer cancels under general regulation Article 28 §2/§3: no charge; "
        "say why (printed, and in --json)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _check_dates(args: argparse.Namespace) -> None:
    """InputError naming the first date outside core/bounds.py's years: the calendar moves
    dates by 30 days and by months, which near 0001 or 9999 leaves ``date``'s range."""
    dates = [("--billing-start", args.billing_start), ("--notice", args.notice)]
    dates += [] if args.requested is None else [("--requested", args.requested)]
    dates += [(f"--option {c}", start) for c, start, _ in args.option]
    first, last = EARLIEST.date(), LATEST.date()
    for flag, day in dates:
        if not first <= day < last:
            raise InputError(
                f"{flag} {day} is outside {first}..{last - timedelta(days=1)}; check the year",
                flag.split()[0],
            )


def run(args: argparse.Namespace) -> int:
    if args.fee < 0:
        raise InputError("--fee must not be negative")
    _check_dates(args)
    end = effective_date(args.notice, args.requested)
    terms = [
        ComponentTerm(component=Component.BASE, start=args.billing_start, monthly_fee_yen=args.fee)
    ]
    terms += [ComponentTerm(component=c, start=s, monthly_fee_yen=f) for c, s, f in args.option]
    t = terminate(terms, end, no_charge_reason=args.no_charge_reason)
    if args.json:
        print(json.dumps(_json(t, terms), indent=2, ensure_ascii=False))
        return 0
    print(
        f"notice reached the carrier {args.notice}; earliest last day of service "
        f"{effective_date(args.notice)}; requested {args.requested or '-'}"
    )
    print(f"cancellation takes effect: last day of service {end}")
    starts = {term.component: term.start for term in terms}
    for c in t.charges:
        before = " (ends before it starts: the whole period)" if end < starts[c.component] else ""
        print(
            f"  {c.component:<13} minimum period {starts[c.component]} .. "
            f"{c.minimum_period_last_day}: {c.remaining_days}/{c.period_days} days left"
            f"{before} -> ¥{_yen(c.charge)}"
        )
    if t.no_charge_reason is not None:
        print(
            f"no charge: cancelled under general regulation Article 28 §2/§3 ({t.no_charge_reason})"
        )
    print(f"early-termination charge: ¥{t.total_yen:,} (exact {t.total}, rounded down once)")
    return 0


def _yen(amount: Fraction) -> str:
    """An exact amount of yen to two decimals (cut, not rounded): shown per component, so the
    reader can see why the total, rounded down once, is what it is."""
    cents = amount * 100 // 1
    return f"{cents // 100:,}" + (f".{cents % 100:02d}" if amount.denominator != 1 else "")


def _json(t: Termination, terms: list[ComponentTerm]) -> dict[str, object]:
    starts = {term.component: term.start for term in terms}
    return {
        "effective_date": t.last_day.isoformat(),
        "components": [
            {
                "component": c.component.value,
                "start": starts[c.component].isoformat(),
                "minimum_period_last_day": c.minimum_period_last_day.isoformat(),
                "remaining_days": c.remaining_days,
                "period_days": c.period_days,
                "charge": str(c.charge),
            }
            for c in t.charges
        ],
        "total": str(t.total),
        "total_yen": t.total_yen,
        "no_charge_reason": t.no_charge_reason,
    }
