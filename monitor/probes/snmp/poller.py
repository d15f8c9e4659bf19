"""SNMP polling (pysnmp 7 asyncio hlapi): interface and BGP peer state of a router.

One :class:`SnmpPoller` (one pysnmp engine) serves every agent. A poll is one GET per agent
carrying, for each interface of interest, ``ifOperStatus.<ifIndex>`` together with the name
column it was chosen by (``ifName.<ifIndex>`` or ``ifDescr.<ifIndex>``), plus
``bgpPeerState.<peer>`` for each BGP peer. Interfaces are configured by name; the name is
resolved to an ifIndex by walking the name column, cached, and checked on every poll: when
the name at the cached index no longer matches (a reboot or a line card change renumbered
the interfaces) the column is walked again and the GET repeated, in the same poll.

Every failure is a :class:`Reading` with ``ok=None`` and an ``error`` (timeout, auth
failure, no such interface, a value of the wrong type, an answer pysnmp could not take, no
complete answer by the poll's deadline: an agent whose walk never ends); nothing here raises
for an unreachable or misbehaving agent. An agent at an IPv6 address is
polled over IPv6.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    walk_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.proto.rfc1902 import Counter32, Counter64, Gauge32, Integer32, Unsigned32
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from monitor.clock import Wall, utcnow
from monitor.core.errors import ProbeSetupError
from monitor.probes.snmp.model import (
    BGP_ESTABLISHED,
    BGP_PEER_STATE,
    BGP_STATE_NAMES,
    IF_OPER_NAMES,
    IF_OPER_STATUS,
    IF_OPER_UP,
    V3,
    Agent,
    Interface,
    Reading,
    V2c,
)

AUTH = {
    "md5": usm.USM_AUTH_HMAC96_MD5,
    "sha": usm.USM_AUTH_HMAC96_SHA,
    "sha224": usm.USM_AUTH_HMAC128_SHA224,
    "sha256": usm.USM_AUTH_HMAC192_SHA256,
    "sha384": usm.USM_AUTH_HMAC256_SHA384,
    "sha512": usm.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "des": usm.USM_PRIV_CBC56_DES,
    "3des": usm.USM_PRIV_CBC168_3DES,
    "aes": usm.USM_PRIV_CFB128_AES,
    "aes192": usm.USM_PRIV_CFB192_AES,
    "aes256": usm.USM_PRIV_CFB256_AES,
}
_MISSING = (NoSuchInstance, NoSuchObject, EndOfMibView)
_NUMBERS = (Integer32, Unsigned32, Gauge32, Counter32, Counter64)


def auth_data(credentials: V2c | V3) -> Any:
    """pysnmp's security parameters for ``credentials`` (also used by the trap receiver)."""
    if isinstance(credentials, V2c):
        return CommunityData(credentials.community, mpModel=1)
    try:
        return UsmUserData(
            credentials.user,
            authKey=credentials.auth_key,
            privKey=credentials.priv_key,
            authProtocol=AUTH[credentials.auth_protocol],
            privProtocol=PRIV[credentials.priv_protocol],
        )
    except KeyError as exc:
        raise ProbeSetupError(f"unknown SNMPv3 protocol {exc.args[0]!r}") from None


def text_of(value: Any) -> str:
    """An OctetString (or anything) as text; bytes that are not UTF-8 are replaced."""
    try:
        return bytes(value).decode("utf-8", "replace")
    except TypeError:
        return str(value)


class SnmpPoller:
    """Polls agents for interface and BGP state; see the module docstring."""

    def __init__(self, *, wall: Wall = utcnow) -> None:
        self._wall = wall
        self._engine: Any = None
        self._targets: dict[tuple[str, int, float, int], Any] = {}
        self._indexes: dict[tuple[str, Interface], int] = {}

    def start(self) -> None:
        self._engine = SnmpEngine()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def index_of(self, agent: Agent, interface: Interface) -> int | None:
        """The cached ifIndex of ``interface`` on ``agent`` (None before the first poll)."""
        return self._indexes.get((agent.name, interface))

    async def poll(
        self,
        agent: Agent,
        *,
        interfaces: Mapping[str, Interface] | None = None,
        peers: Mapping[str, str] | None = None,
        deadline_s: float | None = None,
    ) -> list[Reading]:
        """One reading per interface (kind ifOperStatus) and per peer (kind bgpPeerState),
        labelled with the mapping's keys; after ``deadline_s`` seconds, an error each."""
        interfaces, peers = interfaces or {}, peers or {}
        at = self._wall()
        deadline = asyncio.timeout(deadline_s)
        try:
            async with deadline:
                got = await self._get_all(agent, interfaces, peers)
        except (_PollError, PySnmpError) as exc:
            return unanswered(interfaces, peers, at, str(exc))
        except TimeoutError:
            if not deadline.expired():
                raise
            late = f"no complete answer in {deadline_s:g} s (a walk that never ends?)"
            return unanswered(interfaces, peers, at, f"{agent.name}: {late}")
        out = [self._if_reading(agent, k, i, got, at) for k, i in interfaces.items()]
        out += [_bgp_reading(k, p, got, at) for k, p in peers.items()]
        return out

    async def _get_all(
        self, agent: Agent, interfaces: Mapping[Any, Interface], peers: Mapping[str, str]
    ) -> dict[str, Any]:
        if any(self.index_of(agent, i) is None for i in interfaces.values()):
            await self._resolve(agent, interfaces.values())
        got = await self._get(agent, self._oids(agent, interfaces, peers))
        stale = [i for i in interfaces.values() if not self._matches(agent, i, got)]
        if stale:  # renumbered (or gone): walk again and ask once more
            await self._resolve(agent, stale)
            got.update(await self._get(agent, self._oids(agent, dict(enumerate(stale)), {})))
        return got

    def _oids(
        self, agent: Agent, interfaces: Mapping[Any, Interface], peers: Mapping[str, str]
    ) -> list[str]:
        oids = []
        for i in interfaces.values():
            index = self.index_of(agent, i)
            if index is not None:
                oids += [f"{IF_OPER_STATUS}.{index}", f"{i.column}.{index}"]
        return oids + [f"{BGP_PEER_STATE}.{p}" for p in peers.values()]

    def _matches(self, agent: Agent, interface: Interface, got: Mapping[str, Any]) -> bool:
        index = self.index_of(agent, interface)
        name = got.get(f"{interface.column}.{index}")
        return index is not None and name is not None and text_of(name) == interface.value

    def _if_reading(
        self, agent: Agent, key: str, interface: Interface, got: Mapping[str, Any], at: datetime
    ) -> Reading:
        index = self.index_of(agent, interface)
        status = got.get(f"{IF_OPER_STATUS}.{index}")
        if index is None or status is None or not self._matches(agent, interface, got):
            return Reading(
                key=key,
                kind="ifOperStatus",
                at=at,
                ok=None,
                error=f"no interface {interface.label} on {agent.name}",
            )
        value = _integer(status)
        if value is None:
            return _wrong_type(key, "ifOperStatus", f"{IF_OPER_STATUS}.{index}", status, at)
        return Reading(
            key=key,
            kind="ifOperStatus",
            at=at,
            ok=value == IF_OPER_UP,
            value=value,
            text=f"{interface.value} (ifIndex {index}) {IF_OPER_NAMES.get(value, str(value))}",
        )

    async def _resolve(self, agent: Agent, interfaces: Any) -> None:
        """Walk each needed name column once; cache index of every interface found."""
        wanted = list(interfaces)
        for column in sorted({i.column for i in wanted}):
            names = await self._walk(agent, column)
            for i in wanted:
                if i.column != column:
                    continue
                found = [index for index, name in names.items() if name == i.value]
                if found:  # several rows of one name: the newest (Net-SNMP keeps old rows)
                    self._indexes[(agent.name, i)] = max(found)
                else:
                    self._indexes.pop((agent.name, i), None)

    # -- the two SNMP operations ----------------------------------------------------------
    async def _target(self, agent: Agent) -> Any:
        """The agent's transport target; a new one when its timeout or retries change (a
        reload), as a target keeps those it was made with."""
        key = (agent.host, agent.port, agent.timeout_s, agent.retries)
        target = self._targets.get(key)
        if target is None:
            kind = Udp6TransportTarget if ":" in agent.host else UdpTransportTarget
            target = await kind.create(
                (agent.host, agent.port), timeout=agent.timeout_s, retries=agent.retries
            )
            self._targets = {k: t for k, t in self._targets.items() if k[:2] != key[:2]}
            self._targets[key] = target
        return target

    async def _get(self, agent: Agent, oids: list[str]) -> dict[str, Any]:
        if not oids:
            return {}
        if self._engine is None:
            raise ProbeSetupError("SnmpPoller.start() was not called")
        error, status, index, binds = await get_cmd(
            self._engine,
            auth_data(agent.credentials),
            await self._target(agent),
            ContextData(),
            *(ObjectType(ObjectIdentity(o)) for o in oids),
        )
        _check(agent, error, status, index)
        return {str(name): v for name, v in binds if not isinstance(v, _MISSING)}

    async def _walk(self, agent: Agent, column: str) -> dict[int, str]:
        if self._engine is None:
            raise ProbeSetupError("SnmpPoller.start() was not called")
        out: dict[int, str] = {}
        async for error, status, index, binds in walk_cmd(
            self._engine,
            auth_data(agent.credentials),
            await self._target(agent),
            ContextData(),
            ObjectType(ObjectIdentity(column)),
            lexicographicMode=False,
        ):
            _check(agent, error, status, index)
            for name, value in binds:
                oid = str(name)
                if oid.startswith(column + ".") and not isinstance(value, _MISSING):
                    out[int(oid.rsplit(".", 1)[1])] = text_of(value)
        return out


def unanswered(
    interfaces: Mapping[str, Any], peers: Mapping[str, Any], at: datetime, error: str
) -> list[Reading]:
    """A reading with ``error`` for each interface and peer of a poll that got no answer."""
    return [
        Reading(key=k, kind=kind, at=at, ok=None, error=error)
        for kind, keys in (("ifOperStatus", interfaces), ("bgpPeerState", peers))
        for k in keys
    ]


class _PollError(Exception):
    """The agent did not answer usefully (timeout, authentication, an error status)."""


def _check(agent: Agent, error: Any, status: Any, index: Any) -> None:
    if error:
        raise _PollError(f"{agent.name}: {error}")
    if status:
        raise _PollError(f"{agent.name}: {status.prettyPrint()} at varbind {int(index)}")


def _bgp_reading(key: str, peer: str, got: Mapping[str, Any], at: datetime) -> Reading:
    state = got.get(f"{BGP_PEER_STATE}.{peer}")
    if state is None:
        return Reading(
            key=key, kind="bgpPeerState", at=at, ok=None, error=f"no BGP peer {peer} in BGP4-MIB"
        )
    value = _integer(state)
    if value is None:
        return _wrong_type(key, "bgpPeerState", f"{BGP_PEER_STATE}.{peer}", state, at)
    return Reading(
        key=key,
        kind="bgpPeerState",
        at=at,
        ok=value == BGP_ESTABLISHED,
        value=value,
        text=f"peer {peer} {BGP_STATE_NAMES.get(value, str(value))}",
    )


def _integer(value: Any) -> int | None:
    """A status column's value (an INTEGER in the MIB; any number will do); None for a
    string, an address or anything else that is not a number."""
    return int(value) if isinstance(value, _NUMBERS) else None


def _wrong_type(key: str, kind: str, oid: str, value: Any, at: datetime) -> Reading:
    """The reading of an agent that answered ``oid`` with a value that is not an integer."""
    shown = text_of(value)[:40]
    return Reading(
        key=key,
        kind=kind,
        at=at,
        ok=None,
        error=f"{oid} is {type(value).__name__} {shown!r}, not an integer",
    )
