"""Stopping tasks for sure.

On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation that arrives just as the wait
ends (libraries use it: aiosmtplib connects through it), so one ``cancel()`` may leave a task
running on: a delivery would then retry until its five-minute budget ran out, and a stop would
wait for it. :func:`stop` cancels again until the tasks are gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

PATIENCE_S = 5.0
"""How long a stop keeps cancelling before it leaves a task behind (it never happened)."""


async def stop(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended, cancelling again as often as needed."""
    pending: set[asyncio.Task[Any]] = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
