"""A service stopping while NATS is down (restarting, or a whole stack stopped at once) closes
its connection with one warning instead of failing its shutdown with a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from as2bus.shared.bus.connection import open_bus
from as2bus.testing.infra import LocalNats
from as2bus.testing.waiting import until


async def test_closing_while_nats_is_down_warns_once_and_closes(
    restartable_nats: LocalNats, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await open_bus(restartable_nats.url, name="closing-probe")
    restartable_nats.stop()
    await until(lambda: bus.client.is_reconnecting, what="the client reconnecting", timeout=10)

    caplog.clear()  # the broken connection's own warning came before: not the shutdown's

    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(bus.close(), timeout=10)

    assert bus.client.is_closed
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["NATS was not reachable while stopping: closed without draining"]
    assert not any(r.exc_info for r in caplog.records)


async def test_closing_with_nats_up_drains_without_a_warning(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await open_bus(nats_url, name="closing-probe")
    await bus.client.publish("as2bus.probe.close", b"flushed by the drain")
    with caplog.at_level(logging.WARNING, logger="as2bus.bus"):
        await bus.close()
    assert bus.client.is_closed
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
