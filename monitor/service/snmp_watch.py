"""SNMP in the daemon: router polls become path evidence, traps become an immediate re-probe.

Each configured circuit router (``circuits[].routers.<role>``) is polled every
``poll_interval_s``: ifOperStatus of the interface facing each demarc and, where configured,
bgpPeerState of the peer behind it. Readings are *evidence*: kept per path for the API and
status page, and written to the journal when they change (so an incident's timeline shows
what the router said). They decide a path's state only for paths with ``probe: snmp``, whose
result is "up" when every configured reading for that demarc is up; an agent that does not
answer counts as a failed probe of those paths.

A trap from a router's address (linkDown/linkUp, bgpBackwardTransition/bgpEstablished) names
an interface (ifIndex, ifName or ifDescr) or a BGP peer; the paths behind it are re-probed at
once in a short burst (``snmp_traps.burst``), ICMP or SNMP as configured, so a cut is
confirmed in about a second instead of ``fail_after`` intervals. A trap that names nothing we
know re-probes every path of that router: a burst is cheap, a missed cut is not. A flood of
traps is not: a path (or a router's agent) has one burst at a time, and a trap that comes
during it earns one more after it (bursts.py). Nor is a record per trap: each path's
evidence takes a flood's traps at a bounded rate, with the count held back (trap_budget.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitor.config import Settings, read_secret
from monitor.config.snmp import RouterConfig, SnmpCredentialsConfig, TrapUserConfig
from monitor.core.inputs import Input, Probed, SnmpReading, SnmpSeen
from monitor.core.model import Demarc, PathKey, ProbeResult, Router
from monitor.probes.snmp import V3, Agent, Interface, Reading, SnmpPoller, Trap, TrapKind, V2c
from monitor.probes.snmp.model import IF_DESCR, IF_NAME
from monitor.probes.snmp.poller import unanswered
from monitor.probes.snmp.traps import TrapReceiver
from monitor.service import tasks
from monitor.service.bursts import Bursts
from monitor.service.ratelimit import RateLimited
from monitor.service.trap_budget import TrapBudget

log = logging.getLogger("slawatch.snmp")


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterPlan:
    """What to poll on one circuit's router, and which of its paths SNMP decides."""

    circuit: str
    router: Router
    agent: Agent
    interval_s: float
    interfaces: dict[Demarc, Interface]
    peers: dict[Demarc, str]
    paths: frozenset[Demarc]
    snmp_paths: frozenset[Demarc]

    def key(self, demarc: Demarc) -> PathKey:
        return PathKey(circuit=self.circuit, router=self.router, demarc=demarc)


def credentials(c: SnmpCredentialsConfig | TrapUserConfig, where: str) -> V2c | V3:
    """Secrets read from their env/file now (ConfigError naming ``where`` if missing)."""
    if isinstance(c, SnmpCredentialsConfig) and c.version == "2c":
        assert c.community is not None
        return V2c(community=read_secret(c.community, f"{where}.community"))
    assert c.user and c.auth_key and c.priv_key
    return V3(
        user=c.user,
        auth_protocol=c.auth_protocol,
        auth_key=read_secret(c.auth_key, f"{where}.auth_key"),
        priv_protocol=c.priv_protocol,
        priv_key=read_secret(c.priv_key, f"{where}.priv_key"),
    )


def plans(settings: Settings) -> list[RouterPlan]:
    out = []
    for n, c in enumerate(settings.circuits):
        for role, r in c.routers.items():
            where = f"circuits[{n}].routers.{role}.snmp"
            out.append(_plan(c.id, role, r, credentials(r.snmp, where), c.paths))
    return out


def _plan(circuit: str, role: Router, r: RouterConfig, creds: V2c | V3, paths: Any) -> RouterPlan:
    mine = [p for p in paths if p.router is role]
    return RouterPlan(
        circuit=circuit,
        router=role,
        agent=Agent(
            host=r.address, port=r.port, credentials=creds, timeout_s=r.timeout_s, retries=r.retries
        ),
        interval_s=r.poll_interval_s,
        interfaces={
            d: Interface(column=IF_NAME, value=i.if_name)
            if i.if_name
            else Interface(column=IF_DESCR, value=i.if_descr or "")
            for d, i in r.interfaces.items()
        },
        peers=dict(r.bgp_peers),
        paths=frozenset(p.demarc for p in mine),
        snmp_paths=frozenset(p.demarc for p in mine if p.probe == "snmp"),
    )


def path_result(
    plan: RouterPlan, demarc: Demarc, readings: Iterable[Reading], at: datetime
) -> ProbeResult:
    """An SNMP-probed path's probe result at ``at`` from its readings (all must be up)."""
    mine = [r for r in readings if r.key == demarc.value]
    errors = [r.error for r in mine if r.ok is None and r.error]
    down = [r.text for r in mine if r.ok is False]
    return ProbeResult(
        target=plan.agent.name,
        at=at,
        ok=bool(mine) and not errors and not down,
        error="; ".join(errors + down) or None,
    )


def demarcs_named(
    plan: RouterPlan, trap: Trap, index_of: Callable[[Agent, Interface], int | None]
) -> frozenset[Demarc]:
    """The demarcs whose interface (by ifIndex, via ``index_of``, or by name) or BGP peer
    the trap names; every demarc of the router when it names none of them."""
    indexes, names, peers = trap.if_indexes(), trap.if_names(), trap.bgp_peers()
    named = {
        d
        for d, i in plan.interfaces.items()
        if i.value in names or index_of(plan.agent, i) in indexes
    } | {d for d, p in plan.peers.items() if p in peers}
    return frozenset(named & plan.paths) or plan.paths


class Sink(Protocol):
    """Where readings go: the daemon's supervisor (``feed``), and, for paths SNMP decides,
    its probe-result intake (``on_probed``)."""

    def feed(self, event: Input) -> None: ...
    def on_probed(self, batch: Probed) -> None: ...


class Reprobe(Protocol):
    """The ICMP scheduler's off-schedule burst."""

    async def probe_now(
        self, keys: Sequence[Hashable], *, count: int = 3, spacing_s: float = 0.2
    ) -> None: ...


class Counters(Protocol):
    def snmp_reading(self, kind: str, ok: bool | None) -> None: ...
    def snmp_trap(self, kind: str, matched: bool) -> None: ...


class SnmpWatch:
    """Polls, turns readings into evidence and SNMP-decided probe results, reacts to traps;
    see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        sink: Sink,
        reprobe: Reprobe,
        counters: Counters,
        wall: Callable[[], datetime],
        poller: SnmpPoller | None = None,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink, self._reprobe, self._counters, self._wall = sink, reprobe, counters, wall
        self._mono = mono
        self._budget = TrapBudget()
        self._strangers = RateLimited(log, 60.0)  # each sender's line is new: no repeat filter
        self.poller = poller or SnmpPoller(wall=wall)
        self.plans = plans(settings)
        self.traps = settings.snmp_traps
        self.receiver: TrapReceiver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._probe_bursts = Bursts(self._probe_burst)  # keys: PathKey
        self._poll_bursts = Bursts(self._poll_burst)  # keys: (circuit, router)

    def start(self) -> None:
        self.poller.start()
        if self.traps is not None:
            self.receiver = TrapReceiver(
                self.on_trap,
                communities=[read_secret(self.traps.community, "snmp_traps.community")]
                if self.traps.community
                else [],
                users=[
                    (trap_user(u, f"snmp_traps.users[{n}]"), u.engine_id)
                    for n, u in enumerate(self.traps.users)
                ],
                wall=self._wall,
            )
            self.receiver.start(*self.traps.host_port)
            log.info("SNMP traps: listening on %s", self.traps.listen)
        self._spawn()

    def _spawn(self) -> None:
        self._tasks = [asyncio.create_task(self._poll_loop(p)) for p in self.plans]

    def reload(self, settings: Settings) -> None:
        """New router plans (secrets re-read); the trap listener stays as started."""
        new = plans(settings)
        for task in self._tasks:
            task.cancel()
        self.plans = new
        self._budget.retain({p.key(d) for p in new for d in p.paths})
        if settings.snmp_traps != self.traps:
            log.warning("snmp_traps changed: restart slawatch to apply it")
        self._spawn()

    def refused(self) -> Mapping[str, int]:
        """The trap receiver's refusals by reason (none without one)."""
        return {} if self.receiver is None else self.receiver.refused()

    async def close(self) -> None:
        await self._probe_bursts.close()
        await self._poll_bursts.close()
        await tasks.stop(self._tasks)
        if self.receiver is not None:
            self.receiver.close()
        self.poller.close()

    # -- polling -------------------------------------------------------------------------
    async def _poll_loop(self, plan: RouterPlan) -> None:
        """Poll ``plan`` every ``interval_s`` until cancelled. It never ends on an error: the
        paths SNMP decides would keep their last state for ever, unseen."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.poll(plan)
            except Exception as exc:
                log.error("SNMP: handling the poll of %s for %s failed; polling goes on: %r",
                          plan.agent.name, plan.circuit, exc, exc_info=exc)  # fmt: skip
            await asyncio.sleep(max(plan.interval_s - (loop.time() - started), 0.0))

    async def poll(self, plan: RouterPlan) -> list[Reading]:
        """Poll one router once; hand its readings on as evidence; feed its SNMP paths. A
        poll that raises (the poller never should) is a poll with no answer."""
        at = self._wall()
        interfaces = {d.value: i for d, i in plan.interfaces.items()}
        peers = {d.value: p for d, p in plan.peers.items()}
        try:
            readings = await self.poller.poll(
                plan.agent, interfaces=interfaces, peers=peers, deadline_s=deadline(plan)
            )
        except Exception as exc:
            log.error("SNMP: the poll of %s for %s raised: %r", plan.agent.name, plan.circuit,
                      exc, exc_info=exc)  # fmt: skip
            readings = unanswered(interfaces, peers, at, f"the poll raised {exc!r}")
        for r in readings:
            self._counters.snmp_reading(r.kind, r.ok)
        self._sink.feed(SnmpSeen(readings=tuple(_evidence(plan, r) for r in readings)))
        results = [
            (plan.key(d), path_result(plan, d, readings, at)) for d in sorted(plan.snmp_paths)
        ]
        if results:
            self._sink.on_probed(Probed.of(results))
        return readings

    # -- traps ----------------------------------------------------------------------------
    def on_trap(self, trap: Trap) -> None:
        """Called by the receiver for every accepted notification."""
        mine = [p for p in self.plans if p.agent.host == trap.source]
        relevant = trap.kind is not TrapKind.OTHER
        self._counters.snmp_trap(trap.kind.value, bool(mine) and relevant)
        if not relevant:
            return
        if not mine:
            self._strangers.warning("SNMP %s from %s: not a configured router, ignored",
                                    trap.kind, trap.source)  # fmt: skip
            return
        for plan in mine:
            demarcs = demarcs_named(plan, trap, self.poller.index_of)
            log.info("SNMP %s from %s: re-probing %s/%s", trap.kind, trap.source, plan.circuit,
                     ",".join(sorted(d.value for d in demarcs)))  # fmt: skip
            self._note(plan, demarcs, trap)
            self._burst(plan, demarcs)

    def _burst(self, plan: RouterPlan, demarcs: frozenset[Demarc]) -> None:
        icmp = [plan.key(d) for d in sorted(demarcs) if d not in plan.snmp_paths]
        if icmp:
            self._probe_bursts.ask(icmp)
        if demarcs & plan.snmp_paths:
            self._poll_bursts.ask([(plan.circuit, plan.router)])

    async def _probe_burst(self, keys: list[PathKey]) -> None:
        assert self.traps is not None
        burst = self.traps.burst
        await self._reprobe.probe_now(keys, count=burst.count, spacing_s=burst.spacing_s)

    async def _poll_burst(self, routers: list[tuple[str, Router]]) -> None:
        """``burst.count`` polls of each router's current plan, ``burst.spacing_s`` apart."""
        assert self.traps is not None
        burst = self.traps.burst
        for i in range(burst.count):
            if i:
                await asyncio.sleep(burst.spacing_s)
            for plan in [p for p in self.plans if (p.circuit, p.router) in routers]:
                with contextlib.suppress(Exception):
                    await self.poll(plan)

    def _note(self, plan: RouterPlan, demarcs: frozenset[Demarc], trap: Trap) -> None:
        """The trap itself, as evidence on every path it concerns that has budget left."""
        detail = " ".join(f"{k}={v}" for k, v in trap.varbinds.items() if not k.startswith(
            ("1.3.6.1.2.1.1.3.", "1.3.6.1.6.3.1.1.4.1.")))  # fmt: skip
        text = f"{trap.kind} {detail}".strip()
        now, readings = self._mono(), []
        for d in sorted(demarcs):
            held = self._budget.take(plan.key(d), now)
            if held is None:
                continue
            note = f"{text} ({held} more traps held back before it)" if held else text
            readings.append(SnmpReading(path=plan.key(d), at=trap.at, kind="trap", ok=None,
                                        value=None, text=note))  # fmt: skip
        if readings:
            self._sink.feed(SnmpSeen(readings=tuple(readings)))


def deadline(plan: RouterPlan) -> float:
    """How long a poll of ``plan`` may take: 3 poll intervals, and at least 4 unanswered
    requests' worth (a GET, a walk, a GET again). An agent whose walk never ends (or that is
    too slow to finish) is then a poll with no answer, not a poll loop that hangs for ever
    with its paths' state frozen. (A Net-SNMP walk takes ~1 ms a row: 30 s is ~30,000.)"""
    a = plan.agent
    return max(3 * plan.interval_s, 4 * a.timeout_s * (a.retries + 1))


def _evidence(plan: RouterPlan, r: Reading) -> SnmpReading:
    text = r.text if r.error is None else f"error: {r.error}"
    return SnmpReading(path=plan.key(Demarc(r.key)), at=r.at, kind=r.kind, ok=r.ok,
                       value=r.value, text=text)  # fmt: skip


def trap_user(u: TrapUserConfig, where: str) -> V3:
    """A trap sender's USM user, keys read from their env/file now."""
    user = credentials(u, where)
    assert isinstance(user, V3)
    return user
