"""From what is owed to what is said: ledger actions and blindness become notice facts.

Pure helpers of the supervisor. A notice states the incident's figures as :func:`assess`
finds them when it is sent (a recovery: when the outage ended), in the circuit's timezone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.core.assess import CircuitTerms, assess
from monitor.core.deadlines import NOC, Action, ActionKind
from monitor.core.effects import Send
from monitor.core.model import Interval, PathState
from monitor.core.notices import NoticeFacts, NoticeKind
from monitor.core.sla import yen
from monitor.core.tracker import BlindEnded, BlindStarted, Incident, VantageDisagreed

MONITOR = "monitor"
"""The ``circuit`` label of notices about the monitor itself (blindness)."""


def incident_send(
    action: Action,
    incident: Incident,
    terms: CircuitTerms,
    *,
    now: datetime,
    paths: Sequence[tuple[str, PathState]],
    blind: Sequence[Interval],
    gaps: Sequence[Interval],
) -> Send:
    """The notice an action owes about ``incident``; ``paths`` are (name, state) pairs."""
    at = action.due if action.kind is ActionKind.RECOVERED else max(action.due, now)
    a = assess(incident, terms, now=at, blind=blind, gaps=gaps)
    facts = NoticeFacts(
        circuit=action.circuit,
        incident=incident.id,
        kind=NoticeKind(action.kind.value),
        now=at,
        timezone=str(terms.tz),
        start=incident.start,
        detected=incident.detected,
        end=incident.end,
        duration_s=a.duration_s,
        counted_s=a.counted_s,
        tier=a.tier,
        credit=a.credit,
        credit_yen=yen(terms.fee_yen, a.credit),
        notify_deadline=a.notify_deadline,
        paths=tuple((name, state.value) for name, state in paths),
        seq=action.seq,
        group=action.group,
        removed=action.kind is ActionKind.RECOVERED and incident.closed_reason is not None,
    )
    return Send(notice=facts, recipients=action.recipients)


def blind_send(event: BlindStarted | BlindEnded, noc: tuple[str, ...], timezone: str) -> Send:
    """Tell the NOC that the monitor lost (or regained) its sight."""
    started = isinstance(event, BlindStarted)
    facts = NoticeFacts(
        circuit=MONITOR,
        incident=0,
        now=event.at,
        timezone=timezone,
        kind=NoticeKind.BLIND if started else NoticeKind.BLIND_ENDED,
        blind_since=event.since if isinstance(event, BlindStarted) else event.interval.start,
        end=None if isinstance(event, BlindStarted) else event.interval.end,
        group=NOC,
    )
    return Send(notice=facts, recipients=noc)


def disagree_send(event: VantageDisagreed, noc: tuple[str, ...], timezone: str) -> Send:
    """Tell the NOC that two NOC hosts see a circuit differently, with both views (the path
    rows are ``node: router/demarc``)."""
    facts = NoticeFacts(
        circuit=event.circuit,
        incident=0,
        now=event.at,
        timezone=timezone,
        kind=NoticeKind.DISAGREE,
        paths=tuple(
            (f"{node}: {name}", state) for node, view in event.views for name, state in view
        ),
        group=NOC,
    )
    return Send(notice=facts, recipients=noc)
