"""Runs one IcmpEngine and answers JSON requests, one a line: a test's handle on an engine
inside a network namespace (started with ``ip netns exec``; see EngineProcess).

Requests: {"op": "probe_many", "targets": [...], "timeout": s},
{"op": "burst", "target": a, "count": n, "spacing": s, "timeout": s}, {"op": "stats"}.
Each answer: {"results": [...], "stats": {...}, "mode": "raw"|"dgram"}; first line: the mode,
or {"error": "..."} if the engine cannot start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

from monitor.core.errors import MonitorError
from monitor.probes.icmp import IcmpEngine


async def serve() -> None:
    loop = asyncio.get_running_loop()
    engine = IcmpEngine()
    try:
        await engine.start()
    except MonitorError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return
    print(json.dumps({"mode": engine.mode}), flush=True)
    async with engine:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            req = json.loads(line)
            results: list[Any] = []
            if req["op"] == "probe_many":
                results = await engine.probe_many(req["targets"], timeout=req["timeout"])
            elif req["op"] == "burst":
                results = await engine.burst(
                    req["target"], count=req["count"], spacing=req["spacing"],
                    timeout=req["timeout"],
                )  # fmt: skip
            answer = {
                "results": [dict(dataclasses.asdict(r), at=r.at.isoformat()) for r in results],
                "stats": engine.stats._asdict(),
                "mode": engine.mode,
            }
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
