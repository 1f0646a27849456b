"""A service that starts while NATS is away (a pod scheduled before the NATS pods) waits for
it, saying so in its log a line at a time, and connects once a real nats-server comes up."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket

import pytest

from as2bus.shared.bus.connection import open_bus
from as2bus.testing.infra import LocalNats
from as2bus.testing.waiting import until

DOWN_SECONDS = 8.0


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


async def test_starting_before_nats_waits_says_why_and_connects_once_it_is_up(
    restartable_nats: LocalNats, caplog: pytest.LogCaptureFixture
) -> None:
    nats = restartable_nats
    # Stopped now, started again DOWN_SECONDS later on the same port.
    restarting = asyncio.create_task(asyncio.to_thread(nats.restart, DOWN_SECONDS))
    await until(lambda: not _listening(nats.host, nats.port), what="nats-server stopping")

    with caplog.at_level(logging.WARNING, logger="as2bus.bus"):
        bus = await asyncio.wait_for(open_bus(nats.url, name="early-probe"), timeout=40)
    await restarting
    try:
        assert bus.connected
        said = [r for r in caplog.records if r.getMessage().startswith("cannot reach NATS")]
        assert (
            said[0]
            .getMessage()
            .startswith(
                f"cannot reach NATS at {nats.host}:{nats.port} (attempt 1): ConnectionRefusedError"
            )
        )
        assert said[0].getMessage().endswith("; trying again every second")
        assert 2 <= len(said) <= DOWN_SECONDS / 5 + 1  # one line at most every 5 seconds
        apart = [b.created - a.created for a, b in itertools.pairwise(said)]
        assert min(apart) >= 4.9
        assert not any(r.exc_info for r in said)
    finally:
        await bus.close()
