"""The day's work at the terminal: ``slawatch status``, ``incidents``, ``incident ID``,
``maintenance add|list|remove`` and ``exclude ID --reason``.

Each talks to the running daemon's API when one answers at ``http.listen``, else reads (or
writes) the journal directly (see ops_client.py); the first line on stderr says which.
``--json`` prints the API's own JSON instead of a table.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor import config
from monitor.clock import utcnow
from monitor.commands.ops_client import Ops, connect
from monitor.core.bounds import BoundsError, check_time, check_window, parse_id
from monitor.core.errors import InputError
from monitor.core.times import parse_day, parse_instant


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="the daemon's YAML configuration (default: built-in demo)")
    p.add_argument(
        "--via",
        choices=["auto", "api", "journal"],
        default="auto",
        help="the daemon's API, the journal, or auto: the API when one answers",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="circuits, paths and open incidents with their countdown")
    _common(p)
    p.set_defaults(func=status)
    p = sub.add_parser("incidents", help="list incidents with their SLA figures")
    _common(p)
    p.add_argument("--circuit", help="only this circuit")
    p.add_argument("--since", type=_since, help="from this date or time (2026-10-01 or ISO)")
    p.set_defaults(func=incidents)
    p = sub.add_parser("incident", help="one incident: figures and timeline")
    _common(p)
    p.add_argument("id", type=_id)
    p.set_defaults(func=incident)
    p = sub.add_parser(
        "exclude",
        help="exclude an incident from credits (Article 8 §2: not the carrier's fault), or "
        "withdraw its exclusion",
    )
    _common(p)
    p.add_argument("id", type=_id)
    p.add_argument(
        "--reason",
        required=True,
        help="customer-caused, not attributable, ...; with --withdraw: why it was wrong",
    )
    p.add_argument(
        "--withdraw",
        action="store_true",
        help="withdraw the incident's exclusion: it earns its credits again (kept on record)",
    )
    p.set_defaults(func=exclude)
    _maintenance(sub)


def _maintenance(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("maintenance", help="announced suspensions: add, list, remove")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", help="announce a window (counted durations change)")
    _common(add)
    add.add_argument("--circuit", required=True)
    add.add_argument("--start", required=True, type=_aware, help="ISO time with offset")
    add.add_argument("--end", required=True, type=_aware, help="ISO time with offset")
    add.add_argument("--note", default="", help="what the customer was told")
    add.add_argument(
        "--announced-at",
        type=_aware,
        help="when the customer was told (ISO time with offset; default: now). The window "
        "excludes time only from then (docs/contract.md)",
    )
    add.add_argument("--by", default=_user(), help="who records it (default: your login name)")
    add.set_defaults(func=maintenance_add)
    ls = verbs.add_parser("list", help="windows in force (configured and announced)")
    _common(ls)
    ls.add_argument("--circuit")
    ls.set_defaults(func=maintenance_list)
    rm = verbs.add_parser("remove", help="withdraw an announced window by id")
    _common(rm)
    rm.add_argument("id", type=_id)
    rm.set_defaults(func=maintenance_remove)


# -- argument types -------------------------------------------------------------------------
def _id(text: str) -> int:
    try:
        return parse_id(text, "id")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _aware(text: str) -> datetime:
    try:
        return parse_instant(text, "time", bounded=False)  # the window is checked whole
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("time ")) from None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's uid)
        return f"uid {os.getuid()}"


def _since(text: str) -> str:
    """A date (midnight in the configured timezone) or an aware time: checked now, read once
    the configuration is known (core/times.py)."""
    try:
        parse_day(text, "--since", UTC)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--since ")) from None
    return text


# -- plumbing ---------------------------------------------------------------------------------
Command = Callable[[argparse.Namespace, config.Settings, Ops], int]


def _with_ops(command: Command) -> Callable[[argparse.Namespace], int]:
    """Load the configuration, reach the daemon (or the journal), run, then let go."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        settings = config.load_or_demo(args.config)
        ops = connect(settings, args.via)
        print(f"slawatch: via {ops.where()}", file=sys.stderr)
        try:
            return command(args, settings, ops)
        finally:
            ops.close()

    return run


def _emit(args: argparse.Namespace, data: Any, table: str) -> int:
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(table)
    return 0


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; "-" for None."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in cells
    )


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(abs(seconds))
    text = (
        f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
        if s >= 3600
        else f"{s // 60}m{s % 60:02d}s"
    )
    return f"-{text}" if seconds < 0 else text


def _t(text: str | None) -> str:
    return "-" if text is None else text.replace("T", " ")


_now = utcnow


# -- commands ---------------------------------------------------------------------------------
@_with_ops
def status(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    circuits = ops.circuits()
    open_ids = [c["open_incident"] for c in circuits if c["open_incident"] is not None]
    opened = [i for i in (ops.incident(n) for n in open_ids) if i is not None]
    keys = ("active/primary", "active/secondary", "standby/primary", "standby/secondary")
    rows = []
    for c in circuits:
        by = {f"{p['router']}/{p['demarc']}": p for p in c["paths"]}
        rows.append([c["id"], "available" if c["available"] else "DOWN",
                     *(_path_cell(by.get(k)) for k in keys)])  # fmt: skip
    table = render_table(["CIRCUIT", "STATE", *(k.upper() for k in keys)], rows)
    now = _now()
    table += (
        "\nopen incidents: none\n"
        if not opened
        else "\nopen incidents:\n" + _open_table(opened, now)
    )
    cluster = ops.cluster()
    table += "\n" + _cluster_text(cluster)
    data = {"circuits": circuits, "open_incidents": opened, "cluster": cluster}
    return _emit(args, data, table)


def _cluster_text(c: dict[str, Any] | None) -> str:
    """The NOC hosts under the circuits: who leads, the lease, each node's last word."""
    if c is None:
        return "cluster: not reported by this daemon\n"
    if c["mode"] == "single":
        return "cluster: single node (no cluster: configured)\n"
    if c["leader"] is None:
        lease = f"no live lease (epoch {c['epoch']}): no node sends"
    else:
        lease = f"leader {c['leader']}, epoch {c['epoch']}, {c['lease_left_s']:.1f} s left"
    head = (
        f"cluster: this node {c['node']} ({c['role']}); {lease} "
        f"(lease {c['lease_s']:g} s, renewed every {c['renew_s']:g} s)"
    )
    if c["as_of_s"] > 2 * c["renew_s"]:
        head += f"; as read {c['as_of_s']:.0f} s ago (is the journal reachable?)"
    rows = [
        [n["name"] + (" *" if n["self"] else ""),
         "leader" if n["name"] == c["leader"] else "standby",
         _t(n["last_seen"]), f"{n['age_s']:.1f} s", n["freshness"]]
        for n in c["nodes"]
    ]  # fmt: skip
    return head + "\n" + render_table(["NODE", "ROLE", "LAST SEEN", "AGE", "RESULTS"], rows)


def _path_cell(p: dict[str, Any] | None) -> str:
    if p is None:
        return "-"
    cell = str(p["state"])
    if p.get("rtt_ms") is not None and p["state"] == "up":
        cell += f" {p['rtt_ms']:.1f}ms"
    if_status = (p.get("snmp") or {}).get("ifOperStatus")
    if if_status and if_status.get("ok") is False:
        cell += " (if down)"
    return cell


def _open_table(opened: list[dict[str, Any]], now: datetime) -> str:
    rows = []
    for i in opened:
        start = datetime.fromisoformat(i["start"])
        deadline = i["notify_deadline"]
        left = (
            None if deadline is None else (datetime.fromisoformat(deadline) - now).total_seconds()
        )
        if i["notified"]:
            notice = f"notified {_t(i['notified'])}"
        elif left is None:
            notice = "no deadline (maintenance)"
        elif left < 0:
            notice = f"BREACHED {_dur(-left)} ago"
        else:
            notice = f"{_dur(left)} left to notify"
        rows.append([i["id"], i["circuit"], _t(i["start"]), _dur((now - start).total_seconds()),
                     _t(deadline), notice])  # fmt: skip
    return render_table(["ID", "CIRCUIT", "START", "ELAPSED", "NOTIFY BY", "NOTICE"], rows)


INCIDENT_HEADERS = ["ID", "CIRCUIT", "START", "END", "DURATION", "COUNTED", "TIER", "CREDIT",
                    "NOTIFIED", "BREACH", "EXCLUDED"]  # fmt: skip


def _incident_row(i: dict[str, Any]) -> list[object]:
    return [i["id"], i["circuit"], _t(i["start"]), _t(i["end"]) if i["end"] else "open",
            _dur(i["duration_s"]), _dur(i["counted_s"]), i["tier"], i["credit"],
            _t(i["notified"]), "yes" if i["notify_breach"] else "no", i["excluded"]]  # fmt: skip


@_with_ops
def incidents(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    since = (
        None
        if args.since is None
        else parse_day(args.since, "--since", ZoneInfo(settings.timezone))
    )
    found = ops.incidents(args.circuit, since)
    table = render_table(INCIDENT_HEADERS, [_incident_row(i) for i in found])
    return _emit(args, found, table + f"{len(found)} incident(s)\n")


@_with_ops
def incident(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    found = ops.incident(args.id)
    if found is None:
        raise InputError(f"no incident {args.id}")
    head = render_table(INCIDENT_HEADERS, [_incident_row(found)])
    fields = (f"detected {_t(found['detected'])}; notify by {_t(found['notify_deadline'])}; "
              f"maintenance {_dur(found['maintenance_s'])}; blind {_dur(found['blind_s'])}; "
              f"claim by {found['claim_by'] or '-'}\n")  # fmt: skip
    timeline = render_table(
        ["AT", "KIND", "WHAT"], [[_t(e["at"]), e["kind"], e["text"]] for e in found["timeline"]]
    )
    return _emit(args, found, head + fields + "\ntimeline:\n" + timeline)


@_with_ops
def exclude(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    if args.withdraw:
        done = ops.withdraw_exclusion(args.id, args.reason)
        w = done["withdrawn"]
        said = f"incident {args.id}: exclusion ({w['excluded']}) withdrawn: {w['reason']}\n"
    else:
        done = ops.exclude(args.id, args.reason)
        said = f"incident {args.id} excluded: {done['excluded']}\n"
    return _emit(args, done, render_table(INCIDENT_HEADERS, [_incident_row(done)]) + said)


WINDOW_HEADERS = ["ID", "SOURCE", "CIRCUIT", "START", "END", "ANNOUNCED", "NOTE"]


def _window_row(w: dict[str, Any]) -> list[object]:
    told = _t(w["announced_at"]) + (" (recorded late)" if w["recorded_late"] else "")
    return [w["id"], w["source"], w["circuit"], _t(w["start"]), _t(w["end"]), told, w["note"]]


@_with_ops
def maintenance_list(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    found = ops.maintenance(args.circuit)
    return _emit(args, found, render_table(WINDOW_HEADERS, [_window_row(w) for w in found]))


def maintenance_add(args: argparse.Namespace) -> int:
    try:
        check_window(args.start, args.end)  # the rule the API and the YAML apply
        if args.announced_at is not None:
            check_time(args.announced_at, "announced_at")
    except BoundsError as exc:
        raise InputError(f"--{exc.field.replace('_', '-')}: {exc}") from None
    return _maintenance_add(args)


@_with_ops
def _maintenance_add(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    created = ops.add_maintenance(
        args.circuit, args.start, args.end, args.note, args.announced_at, f"cli {args.by}"
    )
    touched = [
        i
        for i in ops.incidents(args.circuit, None)
        if datetime.fromisoformat(i["start"]) < args.end
        and (i["end"] is None or datetime.fromisoformat(i["end"]) > args.start)
    ]
    table = render_table(WINDOW_HEADERS, [_window_row(created)])
    if touched:
        table += "counted durations changed retroactively for these incidents:\n"
        table += render_table(INCIDENT_HEADERS, [_incident_row(i) for i in touched])
    return _emit(args, {"window": created, "incidents_changed": touched}, table)


@_with_ops
def maintenance_remove(args: argparse.Namespace, settings: config.Settings, ops: Ops) -> int:
    removed = ops.remove_maintenance(args.id)
    return _emit(args, removed, f"removed window {args.id}: " + render_table(
        WINDOW_HEADERS, [_window_row(removed)]))  # fmt: skip
