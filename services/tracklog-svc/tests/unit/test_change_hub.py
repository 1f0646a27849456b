"""The in-process fan-out of status changes to live streams."""

from __future__ import annotations

import uuid

from as2bus.testing.tracklog import T0
from as2bus.tracklog.hub import CLOSED, OVERFLOW, ChangeHub, Listener
from as2bus.tracklog.service import StatusChange


def change(status: str) -> StatusChange:
    return StatusChange(uuid.uuid4(), "outbound", "<m@x>", "acme", "MYCO", None, status, None, T0)


async def next_change(listener: Listener) -> StatusChange:
    """The listener's next status change (not the news of an overflow or the end)."""
    got = await listener.next()
    assert isinstance(got, StatusChange), got
    return got


async def test_each_listener_gets_every_change_until_it_leaves() -> None:
    hub = ChangeHub()
    with hub.listen() as one, hub.listen() as two:
        hub.publish([change("queued"), change("sent")])
        assert [(await next_change(one)).status for _ in range(2)] == ["queued", "sent"]
        assert (await next_change(two)).status == "queued"
    assert hub.listeners == 0
    hub.publish([change("delivered")])  # nobody listens: nothing kept


async def test_a_listener_that_falls_behind_is_told_to_reload_and_a_close_ends_it() -> None:
    hub = ChangeHub()
    with hub.listen() as slow, hub.listen() as other:
        hub.publish([change("queued") for _ in range(1500)])
        assert slow.queue.qsize() == 1000
        received = [await slow.next() for _ in range(1000)]
        assert received[-1] == OVERFLOW
        assert all(isinstance(r, StatusChange) for r in received[:-1])
        hub.publish([change("sent")])
        assert slow.queue.empty()  # nothing more after the overflow notice
        hub.close()
        assert slow.queue.get_nowait() == CLOSED
        assert other.queue.qsize() == 1000  # full: its oldest change made room for the end
