"""The journal writer and a write refused for good (two NOC hosts, store/lease.py).

Before the fix, the writer retried a ``FencedError`` like any journal error, for ever, with
every write behind it held: a leader cut from the database that reconnected after the
takeover never wrote its own path changes again (tests/e2e/test_two_nodes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from monitor.core.errors import FencedError
from monitor.service.writer import Job, Writer

T = TypeVar("T")


class Journal:
    """A store that refuses, for good, every write named ``fenced``."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.tries = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        yield

    def write(self, name: str) -> str:
        self.tries += 1
        if name == "fenced":
            raise FencedError("refused: another node leads")
        self.written.append(name)
        return name

    async def run(self, call: Callable[[Any], T]) -> T:
        return call(self)


async def test_a_fenced_write_fails_at_once_and_the_queue_goes_on() -> None:
    journal = Journal()
    writer: Writer[Any] = Writer(journal)
    runner = asyncio.create_task(writer.run())
    try:
        fenced = writer.submit(Job(build=lambda: lambda s: s.write("fenced"), alone=True))
        after = writer.write(lambda s: s.write("after"))
        async with asyncio.timeout(5):
            with pytest.raises(FencedError):
                await fenced
            assert await after == "after"
        assert journal.written == ["after"] and journal.tries == 2  # tried once, not again
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
