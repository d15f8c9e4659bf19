"""``slawatch notify-test --circuit ID``: a test notice through every configured relay.

Each relay gets one attempt on its own (not a fail-over chain), so the operator sees every
relay's answer; with no relay configured, the notice goes to the local Maildir.
"""

from __future__ import annotations

import argparse
import asyncio
from email.message import EmailMessage

from monitor import config
from monitor.clock import utcnow
from monitor.core.notices import NoticeFacts, NoticeKind
from monitor.notify.mailer import Mailer
from monitor.notify.message import render
from monitor.notify.transport import DeliveryReport
from monitor.service.transports import build_relays, build_transport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("notify-test", help="send a test notice through each configured relay")
    p.add_argument("--config", help="YAML configuration (default: the built-in demo)")
    p.add_argument("--circuit", required=True, help="circuit whose contacts get the notice")
    p.add_argument("--to", action="append", help="send to this address instead (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = config.load_or_demo(args.config)
    circuit = settings.circuit(args.circuit)
    recipients = args.to or [c.address for c in circuit.contacts]
    lang = circuit.contacts[0].lang
    facts = NoticeFacts(
        circuit=circuit.id,
        incident=0,
        kind=NoticeKind.TEST,
        now=utcnow(),
        timezone=circuit.timezone or settings.timezone,
    )
    msg = render(facts, lang=lang, sender=settings.notify.from_, recipients=recipients)
    print(f"test notice {msg['Message-ID']} to {', '.join(recipients)}")
    reports = asyncio.run(_send(settings, msg, recipients))
    ok = True
    for report in reports:
        for a in report.attempts:
            print(
                f"  relay {a.relay}: {a.outcome} {a.code or ''} {a.reply.strip()} "
                f"({a.elapsed_s * 1000:.0f} ms)"
            )
        for r in report.results:
            state = "accepted" if r.accepted else ("refused" if r.permanent else "not delivered")
            print(f"    {r.recipient}: {state} by {r.relay or '-'}")
        ok = ok and all(r.accepted for r in report.results)
    return 0 if ok else 1


async def _send(
    settings: config.Settings, msg: EmailMessage, rcpts: list[str]
) -> tuple[DeliveryReport, ...]:
    if settings.notify.smtp:
        mailer = Mailer(build_relays(settings))
        try:
            return await mailer.try_each(msg, rcpts)
        finally:
            await mailer.close()
    sink = build_transport(settings)
    try:
        return (await sink.deliver(msg, rcpts),)
    finally:
        await sink.close()
