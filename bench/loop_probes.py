"""Instruments for a bench that drives the daemon in its own event loop (mass_outage_bench.py):
what held the loop, and what the memory holds. Each is optional, and costs little unless on.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import pstats
import sys
import threading
import time
import tracemalloc
from pathlib import Path


class Watch:
    """After the recovery: peak RSS, and the optional cProfile / tracemalloc windows."""

    def __init__(self, args: argparse.Namespace, loop: asyncio.AbstractEventLoop, rss: int) -> None:
        self.peak, self.args, self.loop = rss, args, loop
        self.t0 = loop.time()
        self.prof: cProfile.Profile | None = None
        if args.profile:
            self.prof = cProfile.Profile()
            self.prof.enable()
        if args.tracemalloc:
            tracemalloc.start(args.tracemalloc)

    def sample(self) -> None:
        self.peak = max(self.peak, rss())
        if self.prof is not None and self.loop.time() - self.t0 >= self.args.profile:
            self.prof.disable()
            pstats.Stats(self.prof).sort_stats("cumulative").print_stats(40)
            self.prof = None

    def done(self) -> None:
        if tracemalloc.is_tracing():
            gc.collect()
            snap = tracemalloc.take_snapshot()
            print(f"traced now {tracemalloc.get_traced_memory()[0] / 2**20:.0f} MiB, peak "
                  f"{tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB")  # fmt: skip
            for st in snap.statistics("traceback")[:8]:
                print(f"{st.size / 2**20:8.1f} MiB {st.count:9d} blocks")
                for ln in st.traceback.format()[-2 * self.args.tracemalloc :]:
                    print("    " + ln)
            tracemalloc.stop()


class Stacks:
    """A poor man's sampling profiler: a thread that, while the event loop has not run for
    over ``after`` seconds, samples the loop thread's stack every 20 ms; ``report`` prints
    the most common stacks (what the loop was busy with when it stalled)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, after: float = 0.3) -> None:
        self.beat = time.monotonic()
        self.after, self.loop = after, loop
        self.samples: collections.Counter[tuple[str, ...]] = collections.Counter()
        self.main = threading.get_ident()
        self.stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    async def heartbeat(self) -> None:
        while True:
            self.beat = time.monotonic()
            await asyncio.sleep(0.01)

    def _sample(self) -> None:
        while not self.stop.wait(0.02):
            if time.monotonic() - self.beat < self.after:
                continue
            frame = sys._current_frames().get(self.main)
            stack = []
            while frame is not None:
                code = frame.f_code
                stack.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self.samples[tuple(reversed(stack))] += 1

    def report(self, *, clear: bool = False) -> None:
        total = sum(self.samples.values())
        print(f"\nloop stalled (over {self.after} s): {total} samples of 20 ms")
        by_frame: collections.Counter[str] = collections.Counter()
        for stack, n in self.samples.items():
            for f in set(stack):
                by_frame[f] += n
        for f, n in by_frame.most_common(40):
            print(f"  {n:6d} {f}")
        for stack, n in self.samples.most_common(5):
            print(f"  -- {n} samples:")
            for f in stack[-14:]:
                print(f"       {f}")
        if clear:
            self.samples.clear()
        else:
            self.stop.set()


class Callbacks:
    """Times every turn of the event loop and every callback in it, on the wall clock and in
    the loop thread's CPU time: a long turn that used little CPU waited (for the GIL, or the
    machine's CPUs), one that used much did work. ``report`` prints the longest turns, each
    with its callbacks by their wall time."""

    def __init__(self) -> None:
        self.turns: list[tuple[float, float, int, list[tuple[float, float, str]]]] = []
        self.now: list[tuple[float, float, str]] = []
        run, once = asyncio.events.Handle._run, asyncio.base_events.BaseEventLoop._run_once
        outer = self

        def timed(handle: asyncio.events.Handle) -> None:
            w, c = time.perf_counter(), time.thread_time()
            run(handle)
            outer.now.append((time.perf_counter() - w, time.thread_time() - c, _what(handle)))

        def turn(loop: asyncio.base_events.BaseEventLoop) -> None:
            outer.now = []
            w, c = time.perf_counter(), time.thread_time()
            once(loop)
            dw = time.perf_counter() - w
            if dw > 0.5:
                calls = outer.now
                outer.turns.append((dw, time.thread_time() - c, len(calls), calls))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        asyncio.base_events.BaseEventLoop._run_once = turn  # type: ignore[method-assign]

    def report(self, *, clear: bool = False) -> None:
        turns = self.turns
        wall, cpu = sum(t[0] for t in turns), sum(t[1] for t in turns)
        print(f"\nloop turns over 0.5 s: {len(turns)}, wall {wall:.2f} s, loop CPU {cpu:.2f} s")
        for dw, dc, n, calls in sorted(turns, key=lambda t: -t[0])[:6]:
            print(f"  turn {dw:.2f} s wall, {dc:.2f} s CPU, {n} callbacks; the longest:")
            by: dict[str, list[float]] = {}
            for w, c, what in calls:
                acc = by.setdefault(what, [0.0, 0.0, 0.0])
                acc[0] += w
                acc[1] += c
                acc[2] += 1
            for what, (w, c, k) in sorted(by.items(), key=lambda kv: -kv[1][0])[:6]:
                print(f"    {w:6.2f} s wall {c:6.2f} s CPU x{k:.0f} {what}")
        if clear:
            turns.clear()


def _what(handle: asyncio.events.Handle) -> str:
    cb = handle._callback  # type: ignore[attr-defined]
    task = getattr(cb, "__self__", None)
    if isinstance(task, asyncio.Task):
        return f"task {task.get_coro().__qualname__}"  # type: ignore[union-attr]
    return getattr(cb, "__qualname__", repr(cb))


class Collections:
    """The garbage collector's passes (they hold the GIL, so every thread waits): per
    generation, how many, their total and longest seconds, and the objects it tracks."""

    def __init__(self) -> None:
        self.t = 0.0
        self.by_gen: dict[int, list[float]] = {}
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.t = time.perf_counter()
        else:
            self.by_gen.setdefault(info["generation"], []).append(time.perf_counter() - self.t)

    def report(self, *, clear: bool = False) -> None:
        for g, ts in sorted(self.by_gen.items()):
            print(f"gc gen {g}: {len(ts)} passes, {sum(ts):.2f} s, longest {max(ts):.2f} s")
        print(f"gc tracks {len(gc.get_objects())} objects")
        if clear:
            self.by_gen.clear()


def rss() -> int:
    for ln in Path("/proc/self/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1]) // 1024
    return 0
