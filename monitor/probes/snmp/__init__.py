"""SNMP: polling of interface and BGP state (poller.py) and a trap receiver (traps.py).

The only package that imports pysnmp. Values (model.py) are plain dataclasses, free of it.
"""

from monitor.probes.snmp.model import V3, Agent, Interface, Reading, Trap, TrapKind, V2c
from monitor.probes.snmp.poller import SnmpPoller
from monitor.probes.snmp.traps import TrapReceiver

__all__ = [
    "V3",
    "Agent",
    "Interface",
    "Reading",
    "SnmpPoller",
    "Trap",
    "TrapKind",
    "TrapReceiver",
    "V2c",
]
