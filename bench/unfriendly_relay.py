"""An unfriendly SMTP relay in its own process (bench/mass_outage_bench.py): slow DATA, a
connection limit (421 at the greeting beyond N), 451 to every Nth DATA, and down/up on
signals (SIGUSR1: stop listening and cut every session; SIGUSR2: listen again on the same
port).

    python bench/unfriendly_relay.py --port P --log FILE [--max-conn 4] [--data-delay 1 3]
                               [--tempfail-every 0] [--greet-delay 0]

Writes one JSON line per event to --log: accepted messages (time.time(), Message-ID, rcpts,
kind header), refusals (421, 451) and a 'stats' line every second (sessions open, peak).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time


class Relay:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.log = open(args.log, "a", buffering=1)  # noqa: SIM115
        self.sessions: set[asyncio.StreamWriter] = set()
        self.peak = 0
        self.data_count = 0
        self.server: asyncio.AbstractServer | None = None
        self.refused421 = 0
        self.tempfailed = 0
        self.accepted = 0

    def emit(self, **kw: object) -> None:
        kw.setdefault("t", time.time())
        self.log.write(json.dumps(kw) + "\n")

    async def listen(self) -> None:
        self.server = await asyncio.start_server(
            self.client, "127.0.0.1", self.a.port, reuse_address=True, backlog=512
        )
        self.emit(ev="up")

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.sessions):
            w.transport.abort()
        self.emit(ev="down")

    async def client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if len(self.sessions) >= self.a.max_conn:
            self.refused421 += 1
            self.emit(ev="421")
            w.write(b"421 4.7.0 too many connections, try again later\r\n")
            with contextlib_suppress():
                await w.drain()
            w.close()
            return
        self.sessions.add(w)
        self.peak = max(self.peak, len(self.sessions))
        try:
            await self.session(r, w)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.sessions.discard(w)
            w.close()

    async def session(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if self.a.greet_delay:
            await asyncio.sleep(self.a.greet_delay)
        w.write(b"220 relay.test ESMTP\r\n")
        rcpts: list[str] = []
        while True:
            line = await r.readline()
            if not line:
                return
            cmd = line.decode("ascii", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                w.write(b"250-relay.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10000000\r\n")
            elif up.startswith("HELO"):
                w.write(b"250 relay.test\r\n")
            elif up.startswith("MAIL"):
                rcpts = []
                w.write(b"250 OK\r\n")
            elif up.startswith("RCPT"):
                rcpts.append(cmd.split(":", 1)[1].strip().split()[0].strip("<>"))
                w.write(b"250 OK\r\n")
            elif up == "DATA":
                w.write(b"354 go ahead\r\n")
                await w.drain()
                chunks = []
                while True:
                    ln = await r.readline()
                    if not ln:
                        return
                    if ln in (b".\r\n", b".\n"):
                        break
                    chunks.append(ln)
                await asyncio.sleep(random.uniform(*self.a.data_delay))
                self.data_count += 1
                if self.a.tempfail_every and self.data_count % self.a.tempfail_every == 0:
                    self.tempfailed += 1
                    self.emit(ev="451")
                    w.write(b"451 4.3.0 try again later\r\n")
                    continue
                mid, kind = "", ""
                for ln in chunks:
                    low = ln.lower()
                    if low.startswith(b"message-id:"):
                        mid = ln.split(b":", 1)[1].strip().decode()
                    if low.startswith(b"x-slawatch-kind:") or low.startswith(b"x-slawatch-notice:"):
                        kind = ln.split(b":", 1)[1].strip().decode()
                    if ln in (b"\r\n", b"\n"):
                        break
                self.accepted += 1
                self.emit(ev="250", mid=mid, kind=kind, rcpts=rcpts)
                w.write(f"250 2.0.0 queued as {self.data_count}\r\n".encode())
            elif up.startswith("QUIT"):
                w.write(b"221 bye\r\n")
                await w.drain()
                return
            elif up.startswith("RSET") or up.startswith("NOOP"):
                w.write(b"250 OK\r\n")
            else:
                w.write(b"502 command not implemented\r\n")
            await w.drain()

    async def stats(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.emit(ev="stats", open=len(self.sessions), peak=self.peak,
                      accepted=self.accepted, r421=self.refused421, r451=self.tempfailed,
                      listening=self.server is not None)  # fmt: skip


class contextlib_suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--max-conn", type=int, default=1000)
    p.add_argument("--data-delay", type=float, nargs=2, default=(0.0, 0.0))
    p.add_argument("--tempfail-every", type=int, default=0)
    p.add_argument("--greet-delay", type=float, default=0.0)
    p.add_argument("--start-down", action="store_true")
    relay = Relay(p.parse_args())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: asyncio.ensure_future(relay.down()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(relay.listen()))
    if not relay.a.start_down:
        await relay.listen()
    print("ready", flush=True)
    await relay.stats()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
