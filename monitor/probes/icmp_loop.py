"""What the ICMP engine needs of an event loop, and a small loop that has it without asyncio.

The engine (icmp.py) asks a loop for seven things: its clock, a reader on a socket, callbacks
now, at a time or after a delay (each cancellable), and a waiter that a batch sets when its
last echo ends. asyncio's loop has them all, so the daemon hands the engine its own loop
(``IcmpEngine.start``). ``slawatch ping`` is a short command that runs nothing but the engine:
importing asyncio alone costs it ~0.08 s of CPU here, a tenth of the whole run, and asyncio's
loop does more per wake-up than this one, so it runs the same engine on ``SelectorLoop``
(``IcmpEngine.start_on``): selectors, a timer heap and a queue of callbacks.

``SelectorLoop`` is not a general event loop: no coroutines, no signals, one reader per
descriptor, and callbacks that raise end ``run_until`` with their exception.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timer(Cancellable, Protocol):
    def when(self) -> float: ...


class Waiter(Protocol):
    """Set once when a batch ends (an asyncio future, or ``Flag``)."""

    def done(self) -> bool: ...
    def set_result(self, result: None, /) -> None: ...


class Reactor(Protocol):
    """The event loop as the engine uses it (``asyncio.AbstractEventLoop`` is one); times are
    the loop's clock, monotonic seconds."""

    def time(self) -> float: ...
    def add_reader(self, fd: int, callback: Callable[..., object], *args: Any) -> None: ...
    def remove_reader(self, fd: int) -> bool: ...
    def call_soon(self, callback: Callable[..., object], *args: Any) -> Cancellable: ...
    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer: ...
    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Timer: ...
    def create_future(self) -> Waiter: ...


class Flag:
    """``SelectorLoop``'s waiter: a batch has ended."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def done(self) -> bool:
        return self._set

    def set_result(self, result: None, /) -> None:
        self._set = True


class Call:
    """A callback due at ``when`` (loop clock); ``cancel`` keeps it from running."""

    __slots__ = ("args", "callback", "cancelled", "due")

    def __init__(self, due: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.due, self.callback, self.args, self.cancelled = due, callback, args, False

    def cancel(self) -> None:
        self.cancelled = True

    def when(self) -> float:
        return self.due


class SelectorLoop:
    """A loop for synchronous callers: ``run_until(predicate)`` serves readers and timers
    until the predicate holds (checked after each wake-up's callbacks)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Call]] = []
        self._ready: deque[Call] = deque()
        self._order = itertools.count()
        self.time = time.monotonic

    def add_reader(self, fd: int, callback: Callable[..., object], *args: Any) -> None:
        self._selector.register(fd, selectors.EVENT_READ, (callback, args))

    def remove_reader(self, fd: int) -> bool:
        try:
            self._selector.unregister(fd)
        except KeyError:
            return False
        return True

    def call_soon(self, callback: Callable[..., object], *args: Any) -> Call:
        call = Call(0.0, callback, args)
        self._ready.append(call)
        return call

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Call:
        return self.call_at(self.time() + delay, callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Call:
        call = Call(when, callback, args)
        heapq.heappush(self._timers, (when, next(self._order), call))
        return call

    def create_future(self) -> Flag:
        return Flag()

    def run_until(self, finished: Callable[[], bool]) -> None:
        """Serve readers, timers and callbacks until ``finished()``; RuntimeError if nothing
        is left that could make it true."""
        timers, ready, select = self._timers, self._ready, self._selector.select
        while not finished():
            if ready:
                timeout: float | None = 0.0
            elif timers:
                timeout = max(timers[0][0] - self.time(), 0.0)
            elif self._selector.get_map():
                timeout = None
            else:
                raise RuntimeError("SelectorLoop: nothing left to wait for")
            for key, _ in select(timeout):
                callback, args = key.data
                callback(*args)
            now = self.time()
            while timers and timers[0][0] <= now:
                ready.append(heapq.heappop(timers)[2])
            for _ in range(len(ready)):  # not those the callbacks add: they run next turn
                call = ready.popleft()
                if not call.cancelled:
                    call.callback(*call.args)

    def close(self) -> None:
        self._selector.close()
