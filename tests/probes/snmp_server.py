"""Runs an SnmpPoller and a TrapReceiver inside a namespace and answers JSON requests, one a
line (see EngineProcess): the SNMP tests' handle on them.

Requests: {"op": "poll", "agent": {...}, "interfaces": {key: [column, value]}, "peers": {...}},
{"op": "listen", "host": h, "port": p, "communities": [...], "users": [[{v3}, engine_id]]},
{"op": "traps", "count": n, "wait": s} (the traps received so far by every receiver started,
waiting up to ``wait`` seconds for ``count`` of them; they are then forgotten). First line:
{"mode": "snmp"}. A MonitorError is answered {"error": message}; any other exception (a bug:
nothing here should raise) {"raised": repr}, and the server goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

from monitor.core.errors import MonitorError
from monitor.probes.snmp import V3, Agent, Interface, SnmpPoller, Trap, TrapReceiver, V2c


def _agent(spec: dict[str, Any]) -> Agent:
    creds = spec.pop("credentials")
    credentials = V3(**creds) if "user" in creds else V2c(**creds)
    return Agent(credentials=credentials, **spec)


def _json(obj: Any) -> Any:
    return dict(dataclasses.asdict(obj), at=obj.at.isoformat())


async def serve() -> None:
    loop = asyncio.get_running_loop()
    poller = SnmpPoller()
    poller.start()
    traps: list[Trap] = []
    arrived = asyncio.Event()

    def on_trap(trap: Trap) -> None:
        traps.append(trap)
        arrived.set()

    receivers: list[TrapReceiver] = []
    print(json.dumps({"mode": "snmp"}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        req = json.loads(line)
        answer: dict[str, Any] = {}
        try:
            if req["op"] == "poll":
                wanted = req.get("interfaces", {}).items()
                interfaces = {k: Interface(column=c, value=v) for k, (c, v) in wanted}
                readings = await poller.poll(
                    _agent(req["agent"]), interfaces=interfaces, peers=req.get("peers", {})
                )
                answer = {"readings": [_json(r) for r in readings]}
            elif req["op"] == "listen":
                users = [(V3(**u), e) for u, e in req.get("users", [])]
                receiver = TrapReceiver(on_trap, communities=req["communities"], users=users)
                receiver.start(req["host"], req["port"])
                receivers.append(receiver)
                answer = {"address": receiver.address}
            elif req["op"] == "traps":
                deadline = loop.time() + req["wait"]
                while len(traps) < req["count"] and loop.time() < deadline:
                    arrived.clear()
                    try:
                        await asyncio.wait_for(arrived.wait(), deadline - loop.time())
                    except TimeoutError:
                        break
                answer = {"traps": [_json(t) for t in traps]}
                traps.clear()
        except MonitorError as exc:
            answer = {"error": str(exc)}
        except Exception as exc:
            answer = {"raised": repr(exc)}
        print(json.dumps(answer), flush=True)
    for receiver in receivers:
        receiver.close()
    poller.close()


if __name__ == "__main__":
    asyncio.run(serve())
