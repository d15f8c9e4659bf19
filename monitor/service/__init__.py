"""The asyncio shell around the core: probes in, journal, notices and metrics out.

daemon.py    lifecycle: start, restore from the journal, SIGTERM/SIGHUP, shutdown
probing.py   the probe scheduler (one phase-ordered ring per interval, with jitter)
notifying.py the ledger timer and the outbox sender
backend.py   what the HTTP API and status page read and change
"""
