"""Delivery places (service/slots.py): waiters go in by rank then in arrival order; a
cancelled holder or waiter leaves no place taken."""

from __future__ import annotations

import asyncio

from monitor.service.slots import CONTACTS, NOC_NEXT, OTHERS, Slots, rank
from monitor.store.records import Notice
from tests.service.harness import T0


async def test_waiters_go_in_by_rank_then_in_the_order_they_came() -> None:
    slots, order = Slots(1), []
    gate = asyncio.Event()

    async def deliver(name: str, r: int) -> None:
        async with slots.held(r):
            order.append(name)
            await gate.wait()

    first = asyncio.create_task(deliver("first", OTHERS))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(deliver(n, r)) for n, r in
               [("esc-1", OTHERS), ("contact-1", CONTACTS), ("esc-2", OTHERS),
                ("noc", NOC_NEXT), ("contact-2", CONTACTS)]]  # fmt: skip
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *waiters)
    assert order == ["first", "contact-1", "contact-2", "noc", "esc-1", "esc-2"]


async def test_cancelled_holders_and_waiters_leave_every_place_free() -> None:
    slots = Slots(2)
    held = asyncio.Event()

    async def hold() -> None:
        async with slots.held(OTHERS):
            held.set()
            await asyncio.sleep(10)

    tasks = [asyncio.create_task(hold()), asyncio.create_task(hold())]
    await held.wait()
    waiting = [asyncio.create_task(hold()) for _ in range(3)]
    await asyncio.sleep(0.01)
    for t in [*tasks, *waiting]:
        t.cancel()
    await asyncio.gather(*tasks, *waiting, return_exceptions=True)
    got = []
    for _ in range(2):  # both places free again, and no third one
        got.append(asyncio.create_task(slots._acquire(OTHERS)))
    third = asyncio.create_task(slots._acquire(OTHERS))
    await asyncio.sleep(0.01)
    assert all(t.done() for t in got) and not third.done()
    third.cancel()


def test_the_designated_contacts_rank_first_then_the_noc() -> None:
    def notice(group: str | None, incident: int | None = 7) -> Notice:
        return Notice(message_id="<m@x>", incident_id=incident, circuit="c1", kind="opened",
                      recipients=("a@x.example",), body=b"", due_at=T0, group=group)  # fmt: skip

    assert rank(notice("noc")) == rank(notice(None, None)) == NOC_NEXT
    assert rank(notice("primary")) == CONTACTS
    assert rank(notice("escalation")) == OTHERS
