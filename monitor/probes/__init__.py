"""Probes: ICMP echo on one socket per address family (icmp.py: the engine; icmp_packet.py:
pure encode/parse; icmp_socket.py: opening sockets), SNMP polling and traps (the snmp
package, the only pysnmp importer). Every probe outcome is data (``ProbeResult``)."""
