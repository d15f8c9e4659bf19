"""File descriptors: how many HTTP connections the daemon can allow and still send notices.

Every open connection holds a descriptor. Under RLIMIT_NOFILE 1,024, 1,100 idle connections
once took them all: SMTP failed with EMFILE and a notice went out 43 s late (issue 10). So
the HTTP server gets what is left after the descriptors already open, a reserve for what
the daemon opens as it runs (an SMTP connection per notice in flight, Maildir files, the
journal's temporary files, DNS look-ups), and the connections being accepted at a moment
(web.IN_FLIGHT), which the server counts only once they are set up.
"""

from __future__ import annotations

import logging
import os
import resource

from monitor.core.errors import ConfigError

log = logging.getLogger("slawatch")

RESERVE = 100
"""Descriptors kept for the rest of the daemon: 32 deliveries at once, each with an SMTP
connection and a Maildir file or two, the journal, look-ups, with room to spare."""
MIN_CONNECTIONS = 8
"""Below this, the status page and /metrics cannot be served alongside a scraper."""


def open_descriptors() -> int:
    """Descriptors this process holds now (Linux /proc; a guess of 64 elsewhere)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64


def http_connections(wanted: int, *, in_flight: int) -> int:
    """``wanted`` (http.max_connections), or fewer when RLIMIT_NOFILE leaves less room
    (warned); ConfigError when it leaves almost none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    in_use = open_descriptors()
    room = soft - in_use - RESERVE - in_flight
    if room < MIN_CONNECTIONS:
        raise ConfigError(
            f"RLIMIT_NOFILE is {soft} and {in_use} descriptors are in use, which leaves "
            f"{max(room, 0)} for HTTP connections after {RESERVE} kept for notices and the "
            f"journal; raise the limit (systemd: LimitNOFILE=, shell: ulimit -n)"
        )
    if room < wanted:
        log.warning(
            "http.max_connections %d: RLIMIT_NOFILE %d leaves room for %d (%d in use, %d kept "
            "for notices and the journal); serving at most %d, raise LimitNOFILE for more",
            wanted, soft, room, in_use, RESERVE, room,
        )  # fmt: skip
    return min(wanted, room)
