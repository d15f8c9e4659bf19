"""The one exception tree of slawatch.

    MonitorError                 anything slawatch refuses, with a message that says what to fix
    ├── ConfigError              a configuration file or key is wrong (names file, field, fix)
    ├── InputError               a bad event, request or argument (names the line or field)
    │   └── NotFoundError        what it names does not exist (the API answers 404)
    ├── JournalError             the journal cannot be opened, read or written
    │   └── FencedError          a notice claim under a lease epoch that is no longer current
    └── ProbeSetupError          a probe cannot be set up (missing privilege, bad socket)

An unreachable target is *not* an error: probes report it as data (``ok=False``).
Library errors are translated at the boundary with ``raise ... from exc``.
"""


class MonitorError(Exception):
    """Base of every error slawatch raises on purpose."""


class ConfigError(MonitorError):
    """Configuration is invalid; the message names the file, the field and the fix."""


class InputError(MonitorError):
    """An event, request or argument is malformed; the message says where and what, and
    ``field`` names the request field or argument at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(InputError):
    """The incident, window or exclusion a request or argument names does not exist (or is
    not in force): the API answers 404, as a GET of it does."""


class JournalError(MonitorError):
    """The journal (a SQLite file or a PostgreSQL database) cannot be opened, read or
    written."""


class FencedError(JournalError):
    """The journal refused to let this node claim a notice: the claim's lease epoch is not the
    current one (another node leads now) or the lease has lapsed. The node must stop sending;
    the leader re-sends what was in flight (store/lease.py)."""


class ProbeSetupError(MonitorError):
    """A probe transport cannot be set up (e.g. no CAP_NET_RAW)."""
