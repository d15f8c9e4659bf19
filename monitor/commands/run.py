"""``slawatch run [--config FILE]``: the daemon. With no --config, the built-in demo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from monitor import config

log = logging.getLogger("slawatch")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the monitoring daemon")
    p.add_argument("--config", help="YAML configuration (default: the built-in loopback demo)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monitor.service.logs import configure

    configure(args.log_level)
    settings = config.load_or_demo(args.config)
    if not args.config:
        print(
            "slawatch: no --config given: running the built-in demo (loopback targets)",
            file=sys.stderr,
        )
    main = _main(settings, args.config)
    del settings  # kept by no one once the daemon has started: see _main
    return asyncio.run(main)


async def _main(settings: config.Settings, path: str | None) -> int:
    from monitor.service.app import App  # imported late: keeps `slawatch --help` fast

    app = App(settings)
    host, port = settings.http.host_port
    journal = settings.journal
    # The daemon runs on its plan; the validated models (~25 MB at 10,000 paths) go once
    # App.start has read them.
    del settings
    await app.start()
    # What exists now (settings, tracker, metric series, modules) lives as long as the daemon:
    # freeze it out of the cycle collector's reach, or every full collection walks it all
    # (~200 ms of stalled probe ticks at 2,500 circuits).
    gc.freeze()
    print(
        f"slawatch: running. Status page http://{host}:{port}/  metrics http://{host}:{port}"
        f"/metrics  API http://{host}:{port}/api/circuits  journal {journal}",
        file=sys.stderr,
        flush=True,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(app, path))
    assert app.daemon is not None
    failed = app.daemon.failed
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, failed)]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        log.info("stopping")
        await app.stop()
    return 1 if failed.is_set() else 0


def _reload(app: object, path: str | None) -> None:
    from monitor.core.errors import MonitorError
    from monitor.service.app import App

    assert isinstance(app, App)
    if path is None:
        log.warning("SIGHUP: running the built-in demo, nothing to reload")
        return
    try:
        app.reload(config.load(path))
    except MonitorError as exc:
        log.error("reload refused, the old configuration stays in force: %s", exc)
