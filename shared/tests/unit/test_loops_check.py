"""Readiness fails once a background loop has ended, saying which and why."""

from __future__ import annotations

import asyncio

import pytest

from as2bus.shared.chassis import loops_check


async def test_a_service_is_not_ready_once_one_of_its_loops_has_ended() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def broken() -> None:
        raise ConnectionRefusedError("[Errno 111] Connect call failed")

    holder: dict[str, object] = {}
    check = loops_check(holder)
    await check()  # nothing started yet: nothing to say
    running = asyncio.create_task(forever(), name="outbox-relay")
    senders = asyncio.create_task(broken(), name="senders")
    holder["loops"] = [running, senders]
    await asyncio.sleep(0)  # let the broken loop end
    with pytest.raises(RuntimeError) as ended:
        await check()
    assert str(ended.value) == (
        "the senders loop has ended: ConnectionRefusedError: [Errno 111] Connect call failed"
    )
    holder["loops"] = [running]
    await check()  # the one still running is fine
    running.cancel()
    await asyncio.sleep(0)  # the cancellation reaches it
    with pytest.raises(RuntimeError, match=r"^the outbox-relay loop has ended$"):
        await check()
