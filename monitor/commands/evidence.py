"""``slawatch evidence``: signed claim packs, their keys, and checking a pack offline.

    slawatch evidence INCIDENT_ID -o PACK.zip [--config FILE] [--journal J] [--lang ja|en]
    slawatch evidence --month YYYY-MM --circuit ID -o PACK.zip [...]
    slawatch evidence keygen [-o KEY_FILE]
    slawatch evidence verify PACK.zip --public-key KEY.pub

A pack (evidence/pack.py) holds an incident's (or a circuit's month's) figures as the API
gives them, the timeline, raw probe evidence, every notice with each relay's answer, the
report page as PDF, time-stamp tokens and the journal's chain records linking them to a head
hash, with a manifest of SHA-256 sums signed by ``evidence.key_file`` (Ed25519). ``verify``
needs nothing but the pack and the public key: exit 0 when it holds up, 1 naming every
member that fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor import config
from monitor.commands.report import check_journal, months
from monitor.core.errors import InputError
from monitor.core.model import require_aware
from monitor.core.report import month_span

DEFAULT_KEY = Path("slawatch-evidence.key")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evidence",
        help="a signed claim pack (INCIDENT_ID or --month/--circuit), keygen, or verify PACK",
    )
    p.add_argument("target", nargs="?", help="INCIDENT_ID, or the word keygen or verify")
    p.add_argument("pack", nargs="?", help="with verify: the pack to check")
    p.add_argument("--month", help="with --circuit: every incident of that month (YYYY-MM)")
    p.add_argument("--circuit", help="with --month: the circuit")
    p.add_argument("-o", "--output", help="the pack to write (keygen: the private key file)")
    p.add_argument("--public-key", help="with verify: slawatch's public key (PEM)")
    p.add_argument("--config", help="YAML configuration (default: the built-in demo)")
    p.add_argument("--journal", help="the journal (default: the config's)")
    p.add_argument("--key-file", help="signing key (default: the config's evidence.key_file)")
    p.add_argument("--lang", choices=("ja", "en"), default="ja", help="the report page's")
    p.add_argument("--now", help="figures as of this time (ISO 8601 with offset; default now)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # cryptography, the report renderers and the claim's gathering load only here: every
    # command's parser is built at each start of slawatch, `run` included
    if args.target == "keygen":
        return keygen(args)
    if args.target == "verify":
        return verify(args)
    return make(args)


def keygen(args: argparse.Namespace) -> int:
    from monitor.evidence import crypto

    settings = config.load_or_demo(args.config) if args.config else None
    configured = settings.evidence.key_file if settings else None
    path = Path(args.output) if args.output else configured or DEFAULT_KEY
    pub, fingerprint = crypto.keygen(path)
    print(f"private key {path} (keep it: evidence.key_file); public key {pub}")
    print(f"fingerprint {fingerprint}")
    return 0


def verify(args: argparse.Namespace) -> int:
    from monitor.evidence import crypto, pack

    if not args.pack:
        raise InputError("verify needs the pack: slawatch evidence verify PACK.zip "
                         "--public-key KEY.pub", "pack")  # fmt: skip
    if not args.public_key:
        raise InputError("verify needs --public-key KEY.pub (slawatch's public key)",
                         "--public-key")  # fmt: skip
    key = crypto.load_public(Path(args.public_key))
    try:
        data = Path(args.pack).read_bytes()
    except OSError as exc:
        raise InputError(f"{args.pack}: cannot read: {exc.strerror}", "pack") from None
    found = pack.check(data, key)
    if not found.ok:
        for problem in found.problems:
            print(f"FAIL {problem}", file=sys.stderr)
        print(f"{args.pack}: does not hold up ({len(found.problems)} problems)", file=sys.stderr)
        return 1
    assert found.head is not None
    print(f"{args.pack}: holds up: {found.files} files signed by key {crypto.fingerprint(key)}")
    print(f"subject {found.subject}; linked to the journal's head {found.head.text}")
    return 0


def make(args: argparse.Namespace) -> int:
    from monitor.evidence import crypto

    incident = _subject(args)
    if not args.output:
        raise InputError("give the pack's file with -o PACK.zip", "-o")
    settings = config.load_or_demo(args.config)
    key_path = Path(args.key_file) if args.key_file else settings.evidence.key_file
    if key_path is None:
        raise InputError(
            "no signing key: set evidence.key_file in the configuration (make one with "
            "slawatch evidence keygen) or give --key-file",
            "evidence.key_file",
        )
    key = crypto.load_private(key_path)
    where = args.journal or settings.journal
    check_journal(where, args.journal)
    now = _now(args.now)
    data = asyncio.run(_build(settings, where, incident, args, key, now))
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise InputError(f"-o {args.output}: cannot write: {exc.strerror}", "-o") from None
    print(f"{args.output}: claim pack written ({len(data):,} bytes)")
    return 0


def _subject(args: argparse.Namespace) -> int | None:
    """The incident asked for (None: a month of a circuit); InputError for a bad mix."""
    if args.target is None:
        if not (args.month and args.circuit):
            raise InputError("give an INCIDENT_ID, or --month YYYY-MM with --circuit ID", "id")
        months(args.month)
        return None
    if args.month or args.circuit:
        raise InputError("give an INCIDENT_ID or --month/--circuit, not both", "--month")
    if not (args.target.isascii() and args.target.isdigit()):
        raise InputError(f"{args.target!r}: an incident id is a number (or use keygen, verify)",
                         "id")  # fmt: skip
    return int(args.target)


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return require_aware(datetime.fromisoformat(text), "--now").astimezone(UTC)
    except ValueError:
        raise InputError(f"--now {text!r}: write an ISO time like 2026-11-01T09:00+09:00",
                         "--now") from None  # fmt: skip


async def _build(
    settings: config.Settings,
    where: str | Path,
    incident: int | None,
    args: argparse.Namespace,
    key: object,
    now: datetime,
) -> bytes:
    from monitor.evidence import pack
    from monitor.service.claim import gather
    from monitor.service.offline import Offline

    offline = await Offline.open(settings.plan(), where, wall=lambda: now,
                                 password_file=settings.journal_password_file)  # fmt: skip
    try:
        if incident is None:
            circuit, month = args.circuit, args.month
            offline.backend.ops.known(circuit)
            sup = offline.backend.sup
            lo, hi = month_span(month, sup.terms(circuit).tz)
            found = await offline.store.run(lambda s: s.incidents(circuit, lo, hi))
            ids = [i.id for i in found]
            subject: dict[str, object] = {"circuit": circuit, "month": month}
        else:
            stored = await offline.store.run(lambda s: s.incident(incident))
            if stored is None or offline.backend.plan.circuit(stored.circuit) is None:
                raise InputError(f"no incident {incident} of a configured circuit", "id")
            circuit, ids = stored.circuit, [incident]
            tz = offline.backend.sup.terms(circuit).tz
            month = stored.start.astimezone(tz).strftime("%Y-%m")
            subject = {"incident": incident, "circuit": circuit, "month": month}
        journal = await offline.store.run(lambda s: s.journal_id())
        got = await gather(offline, circuit=circuit, month=month, incidents=ids,
                           subject=subject, now=now, lang=args.lang)  # fmt: skip
    finally:
        await offline.close()
    return pack.build(got.members, subject=got.subject, journal=journal, created=now,
                      head=got.head, records=got.records, prev=got.prev, key=key)  # fmt: skip
