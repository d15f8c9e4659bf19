"""SNMP trap receiver (pysnmp 7, asyncio transport): v2c communities and v3 USM users.

Each accepted notification becomes a :class:`Trap` handed to ``on_trap`` synchronously on the
event loop; pysnmp drops messages with an unknown community or failed USM authentication
before we see them, and counts them; :meth:`TrapReceiver.refused` gives those counts with
ours (``rejected``: what our own parsing refused; datagrams pysnmp raised on). SNMPv1 traps
are accepted too (pysnmp translates them to v2 form). A receiver on ``::`` takes IPv4 traps as
well (a dual-stack socket); their source is given as the IPv4 address, as configured.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.rfc1902 import OctetString

from monitor.clock import Wall, utcnow
from monitor.core.errors import ProbeSetupError
from monitor.probes.snmp.model import (
    SNMP_TRAP_ADDRESS,
    SNMP_TRAP_OID,
    TRAP_KINDS,
    V3,
    Trap,
    TrapKind,
)
from monitor.probes.snmp.poller import AUTH, PRIV, text_of

log = logging.getLogger("slawatch.snmp")

REFUSED = {
    "community": ("__SNMPv2-MIB", "snmpInBadCommunityNames"),
    "unparsable": ("__SNMPv2-MIB", "snmpInASNParseErrs"),
    "version": ("__SNMPv2-MIB", "snmpInBadVersions"),
    "v3_user": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"),
    "v3_engine": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"),
    "v3_auth": ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"),
    "v3_priv": ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"),
    "v3_time": ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows"),
    "v3_level": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels"),
}
"""Why a message was refused -> the counter pysnmp keeps of it (its MIB, the object)."""


class _Guard:
    """pysnmp's UDP transport, except that a datagram pysnmp raises on is counted and logged
    in one line (``b"hello"`` makes pyasn1 raise TypeError), where asyncio logged a traceback
    for each, ~25 lines: a scan or a fuzzer flooded the log."""

    loop: Any
    _callback_function: Any
    receiver: TrapReceiver

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.loop.call_soon(self._take, address, datagram)

    def _take(self, address: Any, datagram: bytes) -> None:
        try:
            self._callback_function(self, address, datagram)
        except Exception as exc:
            self.receiver.undecodable += 1
            log.warning("ignored a datagram on the trap port that is no SNMP message pysnmp "
                        "can decode (%s)", type(exc).__name__)  # fmt: skip


class _Udp(_Guard, udp.UdpAsyncioTransport):  # type: ignore[misc]
    pass


class _Udp6(_Guard, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    pass


class TrapReceiver:
    """Listens on ``host:port`` (UDP) and calls ``on_trap`` for every accepted notification.

    ``users`` pairs each V3 user with the hex engine ID of the agent that sends as it."""

    def __init__(
        self,
        on_trap: Callable[[Trap], None],
        *,
        communities: Sequence[str] = (),
        users: Sequence[tuple[V3, str]] = (),
        wall: Wall = utcnow,
    ) -> None:
        self._on_trap = on_trap
        self._communities = list(communities)
        self._users = list(users)
        self._wall = wall
        self._engine: Any = None
        self.address: tuple[str, int] | None = None
        """Where we listen, once started (host, port): useful after binding port 0."""
        self.rejected = 0
        self.undecodable = 0

    def start(self, host: str, port: int) -> None:
        """Bind (ProbeSetupError naming the fix if it cannot) and start receiving."""
        ipv6 = ":" in host
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ProbeSetupError(
                f"snmp_traps.listen {host}:{port}: cannot bind: {exc.strerror}; port 162 needs "
                "root or CAP_NET_BIND_SERVICE (or choose another port)"
            ) from None
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        eng = engine.SnmpEngine()
        transport = (_Udp6 if ipv6 else _Udp)()
        transport.receiver = self
        transport.open_server_mode(sock=sock)
        domain = (*(udp6.DOMAIN_NAME if ipv6 else udp.DOMAIN_NAME), 1)
        config.add_transport(eng, domain, transport)
        for n, community in enumerate(self._communities):
            config.add_v1_system(eng, f"slawatch-{n}", community)
        for user, engine_id in self._users:
            config.add_v3_user(
                eng,
                user.user,
                AUTH[user.auth_protocol],
                user.auth_key,
                PRIV[user.priv_protocol],
                user.priv_key,
                securityEngineId=OctetString(hexValue=engine_id.removeprefix("0x")),
            )
        ntfrcv.NotificationReceiver(eng, self._received)
        self._engine = eng

    def refused(self) -> Mapping[str, int]:
        """How many messages were refused so far, by reason (``REFUSED``, and ``malformed``:
        a notification our parsing refused). Unknown communities and v3 users are here."""
        out = {"malformed": self.rejected, "unparsable": self.undecodable}
        if self._engine is not None:
            builder = self._engine.get_mib_builder()
            for reason, (mib, name) in REFUSED.items():
                (counter,) = builder.import_symbols(mib, name)
                out[reason] = out.get(reason, 0) + int(counter.syntax)
        return out

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def _received(
        self, eng: Any, state: Any, context_engine: Any, context: Any, binds: Any, ctx: Any
    ) -> None:
        try:
            _, address = eng.message_dispatcher.get_transport_info(state)
            source = _plain_address(address[0])  # IPv6: (host, port, flowinfo, scope)
            values: dict[str, int | str] = {}
            for name, value in binds:
                values[str(name)] = _plain(value)
            oid = str(values.get(SNMP_TRAP_OID, ""))
            trap = Trap(
                source=str(values.get(SNMP_TRAP_ADDRESS) or source),
                kind=TRAP_KINDS.get(oid, TrapKind.OTHER),
                oid=oid,
                varbinds=values,
                at=self._wall(),
            )
        except Exception as exc:  # a malformed trap must not kill the receiver
            self.rejected += 1
            log.warning("ignored a malformed SNMP notification: %s", exc)
            return
        self._on_trap(trap)


def _plain(value: Any) -> int | str:
    """A varbind value as int (numbers), dotted text (OIDs, IP addresses) or text."""
    kind = type(value).__name__
    if kind in ("Integer", "Integer32", "Counter32", "Gauge32", "Unsigned32", "TimeTicks"):
        return int(value)
    if kind == "IpAddress":
        return ".".join(str(b) for b in bytes(value.asOctets()))
    if kind == "ObjectIdentifier" or kind == "ObjectName":
        return str(value)
    return text_of(value)


def _plain_address(host: str) -> str:
    """The sender's address as written in the config: ``::ffff:198.18.1.2`` (an IPv4 sender
    seen by a dual-stack socket) as ``198.18.1.2``, no ``%scope``, IPv6 compressed."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)
