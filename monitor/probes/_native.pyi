"""The ICMP engine's per-echo loops in C (_native.c); absent where it was not built."""

from collections import deque
from datetime import datetime

from monitor.probes.icmp_flight import Batch, Family, Probe

def enqueue(
    resolved: list[tuple[str, bool, tuple[str, int], bytes]],
    fams: tuple[Family | None, Family | None],
    params: tuple[tuple[int, int, int, bool, int, int, bytes] | None, ...],
    slots: list[Probe | None],
    queue: deque[Probe],
    batch: Batch,
    seq: int,
    n: int,
    /,
) -> int: ...
def drain(
    fd: int, slots: list[Probe | None], strip_ip: bool, skip: int, kind: int, /
) -> tuple[int, int, list[Batch], list[tuple[bytes, str, int, int]]]: ...
def send(
    queue: deque[Probe], n: int, fd4: int, fd6: int, wall: datetime, /
) -> tuple[list[Probe], OSError | None]: ...
