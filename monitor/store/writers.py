"""How each fact is written to the journal, and chained (store/chain.py): one writer per fact
type, in SQL SQLite and PostgreSQL both run (``?`` placeholders, integer microseconds). A path
change is :func:`path_changed` (it names the NOC host that saw it), not in :data:`WRITERS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from monitor.core.evidence import encode
from monitor.core.facts import ProbeEvidence, SnmpObserved, Unmonitored
from monitor.core.model import Interval
from monitor.core.tracker import (
    BlindEnded,
    BlindStarted,
    ControlChanged,
    IncidentClosed,
    IncidentNotified,
    IncidentOpened,
    MonitoringStarted,
    OutageWaiting,
    PathChanged,
    VantageDisagreed,
)
from monitor.store.chain import Links
from monitor.store.times import to_db


def path_changed(tx: Links, e: PathChanged, node: str) -> None:
    """A path change as NOC host ``node`` saw it ("" for the only one)."""
    tx.write(
        "path_changes",
        "INSERT INTO path_changes (circuit, router, demarc, state, since, at, node) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (e.path.circuit, e.path.router.value, e.path.demarc.value, e.change.state.value,
         to_db(e.change.since), to_db(e.change.at), node),
    )  # fmt: skip


def _control_changed(tx: Links, e: ControlChanged) -> None:
    tx.write(
        "control_changes",
        "INSERT INTO control_changes (target, state, since, at) VALUES (?, ?, ?, ?)",
        (e.target, e.change.state.value, to_db(e.change.since), to_db(e.change.at)),
    )


def _incident_upsert(tx: Links, e: IncidentOpened | IncidentClosed | IncidentNotified) -> None:
    i = e.incident
    tx.write(
        "incidents",
        'INSERT INTO incidents (id, circuit, start, detected, "end", notified, closed_reason, '
        'single_vantage) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "end" = '
        'excluded."end", notified = coalesce(incidents.notified, excluded.notified), '
        "closed_reason = coalesce(incidents.closed_reason, excluded.closed_reason)",
        (i.id, i.circuit, to_db(i.start), to_db(i.detected), to_db(i.end), to_db(i.notified),
         i.closed_reason, int(i.single_vantage)),
    )  # fmt: skip


def _disagreed(tx: Links, e: VantageDisagreed) -> None:
    views = {node: dict(view) for node, view in e.views}
    tx.write(
        "disagreements",
        "INSERT INTO disagreements (circuit, at, views) VALUES (?, ?, ?)",
        (e.circuit, to_db(e.at), json.dumps(views, sort_keys=True)),
    )


def _waiting(tx: Links, e: OutageWaiting) -> None:
    """An outage waiting on the control targets, as it stands (one row, each change chained)."""
    doubt = json.dumps({name: to_db(since) for name, since in e.doubt}, sort_keys=True)
    tx.write(
        "waiting_outages",
        'INSERT INTO waiting_outages (circuit, start, detected, single_vantage, doubt, "end", '
        "seen) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (circuit, start, detected) DO UPDATE "
        'SET "end" = coalesce(excluded."end", waiting_outages."end"), '
        "seen = coalesce(excluded.seen, waiting_outages.seen)",
        (e.circuit, to_db(e.start), to_db(e.detected), int(e.single), doubt, to_db(e.end),
         None if e.seen is None else int(e.seen)),
    )  # fmt: skip


def _first_result(tx: Links, e: MonitoringStarted) -> None:
    tx.write(
        "first_results",
        "INSERT INTO first_results (circuit, at) VALUES (?, ?) ON CONFLICT (circuit) DO NOTHING",
        (e.circuit, to_db(e.at)),
    )


def _blind_started(tx: Links, e: BlindStarted) -> None:
    tx.write(
        "blind_intervals", 'INSERT INTO blind_intervals (start, "end") VALUES (?, NULL)',
        (to_db(e.since),),
    )  # fmt: skip


def _blind_ended(tx: Links, e: BlindEnded) -> None:
    """The open spell ends; its start moves earlier if a control target confirmed down
    later had been down since before it (tracker.py)."""
    start = to_db(e.interval.start)
    tx.write(
        "blind_intervals",
        'UPDATE blind_intervals SET "end" = ?, start = CASE WHEN ? < start THEN ? ELSE start '
        'END WHERE "end" IS NULL',
        (to_db(e.interval.end), start, start),
    )


def gap(tx: Links, g: Interval) -> None:
    """An unmonitored gap (closed): found at a start, or while running (a stall)."""
    tx.write("gaps", 'INSERT INTO gaps (start, "end") VALUES (?, ?)',
             (to_db(g.start), to_db(g.end)))  # fmt: skip


def _unmonitored(tx: Links, e: Unmonitored) -> None:
    gap(tx, e.gap)


def _snmp(tx: Links, e: SnmpObserved) -> None:
    tx.write(
        "snmp_evidence",
        "INSERT INTO snmp_evidence (circuit, router, demarc, at, kind, value, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (e.path.circuit, e.path.router.value, e.path.demarc.value, to_db(e.at), e.kind, e.value,
         e.text),
    )  # fmt: skip


def _probe_evidence(tx: Links, e: ProbeEvidence) -> None:
    """Raw results and SNMP readings around an incident, gzip'd JSON (core/evidence.py)."""
    tx.write(
        "probe_evidence",
        'INSERT INTO probe_evidence (circuit, incident_id, reason, start, "end", at, results, '
        "readings, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (e.circuit, e.incident, e.reason, to_db(e.start), to_db(e.end), to_db(e.at),
         e.count, len(e.readings), encode(e)),
    )  # fmt: skip


LEADER_FACTS = frozenset({IncidentOpened, IncidentClosed, IncidentNotified, VantageDisagreed,
                          BlindStarted, BlindEnded, ControlChanged, ProbeEvidence,
                          OutageWaiting})  # fmt: skip
"""What only the leader records (two NOC hosts): written under its lease epoch, when given."""

WRITERS: dict[type, Callable[[Links, Any], None]] = {
    MonitoringStarted: _first_result,
    VantageDisagreed: _disagreed,
    ControlChanged: _control_changed,
    IncidentOpened: _incident_upsert,
    IncidentClosed: _incident_upsert,
    IncidentNotified: _incident_upsert,
    OutageWaiting: _waiting,
    BlindStarted: _blind_started,
    BlindEnded: _blind_ended,
    SnmpObserved: _snmp,
    ProbeEvidence: _probe_evidence,
    Unmonitored: _unmonitored,
}
