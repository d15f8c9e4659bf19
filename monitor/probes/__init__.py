"""Probes: ICMP echo on one socket per address family (icmp.py), SNMP polling and traps
(snmp.py, the only pysnmp importer). Every probe outcome is data (``ProbeResult``)."""
