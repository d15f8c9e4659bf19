"""SNMP values: agents, credentials, readings and traps, with the numeric OIDs we use.

Pure data (no pysnmp), so the service and tests can build and inspect them freely. No MIB
files are needed anywhere: every OID is numeric.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

# IF-MIB
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
# BGP4-MIB: bgpPeerState.<peer IPv4 address>, bgpPeerRemoteAddr.<peer>
BGP_PEER_STATE = "1.3.6.1.2.1.15.3.1.2"
BGP_PEER_REMOTE_ADDR = "1.3.6.1.2.1.15.3.1.7"
# SNMPv2-MIB: snmpTrapOID.0 and snmpTrapAddress.0 (the original agent, when proxied)
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"

IF_OPER_UP = 1
BGP_ESTABLISHED = 6
IF_OPER_NAMES = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
BGP_STATE_NAMES = {
    1: "idle",
    2: "connect",
    3: "active",
    4: "opensent",
    5: "openconfirm",
    6: "established",
}


class TrapKind(enum.StrEnum):
    """The notifications that make slawatch re-probe at once."""

    LINK_DOWN = "linkDown"
    LINK_UP = "linkUp"
    BGP_ESTABLISHED = "bgpEstablished"
    BGP_BACKWARD = "bgpBackwardTransition"
    OTHER = "other"


TRAP_KINDS = {
    "1.3.6.1.6.3.1.1.5.3": TrapKind.LINK_DOWN,
    "1.3.6.1.6.3.1.1.5.4": TrapKind.LINK_UP,
    "1.3.6.1.2.1.15.7.1": TrapKind.BGP_ESTABLISHED,  # RFC 1657
    "1.3.6.1.2.1.15.7.2": TrapKind.BGP_BACKWARD,
    "1.3.6.1.2.1.15.0.1": TrapKind.BGP_ESTABLISHED,  # RFC 4273 names
    "1.3.6.1.2.1.15.0.2": TrapKind.BGP_BACKWARD,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class V2c:
    community: str

    def __repr__(self) -> str:  # never print secrets into logs
        return "V2c(community=***)"


@dataclass(frozen=True, slots=True, kw_only=True)
class V3:
    """SNMPv3 USM, authPriv. Protocol names as in the config (``sha``, ``aes``...)."""

    user: str
    auth_protocol: str
    auth_key: str
    priv_protocol: str
    priv_key: str

    def __repr__(self) -> str:
        return f"V3(user={self.user!r}, {self.auth_protocol}/{self.priv_protocol}, keys=***)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """An SNMP agent to poll. ``timeout_s`` per attempt; ``retries`` after the first."""

    host: str
    port: int = 161
    credentials: V2c | V3
    timeout_s: float = 1.0
    retries: int = 1

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """An interface chosen by name: ``column`` is IF_NAME (ifName) or IF_DESCR (ifDescr)."""

    column: str
    value: str

    @property
    def label(self) -> str:
        return f"{'ifName' if self.column == IF_NAME else 'ifDescr'}={self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One polled fact. ``kind`` is "ifOperStatus" or "bgpPeerState"; ``key`` is the
    caller's label (the demarc). ``ok`` is None when the agent gave no answer (``error``).
    ``at`` is when the poll was sent, aware UTC."""

    key: str
    kind: str
    at: datetime
    ok: bool | None
    value: int | None = None
    text: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trap:
    """A received notification. ``source`` is the sender's address (or snmpTrapAddress when
    present); ``varbinds`` maps numeric OID to an int or a string. ``at`` aware UTC."""

    source: str
    kind: TrapKind
    oid: str
    varbinds: dict[str, int | str]
    at: datetime

    def if_indexes(self) -> set[int]:
        """ifIndex values the trap names: ifTable columns' instance suffixes (``...2.2.1.
        <column>.<ifIndex>``) and ifIndex values; a value that is no number names nothing
        (a malformed trap still re-probes: it then names nothing we know)."""
        prefix = "1.3.6.1.2.1.2.2.1."
        out = set()
        for oid, value in self.varbinds.items():
            if not oid.startswith(prefix):
                continue
            column, _, index = oid[len(prefix) :].partition(".")
            if column.isdigit() and index.isdigit():
                out.add(int(index))
            text = str(value).strip()
            if oid.startswith(IF_INDEX + ".") and text.isascii() and text.isdigit():
                out.add(int(text))
        return out

    def if_names(self) -> set[str]:
        """Interface names or descriptions carried in the trap (ifName, ifDescr)."""
        return {
            str(v)
            for oid, v in self.varbinds.items()
            if oid.startswith((IF_NAME + ".", IF_DESCR + "."))
        }

    def bgp_peers(self) -> set[str]:
        """Peer addresses the trap names (from BGP4-MIB peer-table instance suffixes)."""
        prefix = "1.3.6.1.2.1.15.3.1."
        out = set()
        for oid in self.varbinds:
            if oid.startswith(prefix):
                parts = oid[len(prefix) :].split(".")
                if len(parts) == 5:
                    out.add(".".join(parts[1:]))
        return out
