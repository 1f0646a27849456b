"""Idle is quiet and ready; a nats-server restart is followed within seconds (issue #16, 12/20).

Each fetch that finds nothing ends with the server's "request timeout" status, which nats-py
may return as an empty batch: the consumer must take that as "idle", not fail and restart."""

from __future__ import annotations

import asyncio
from typing import Any

from as2bus.testing.infra import LocalNats
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tracklog import outbound

from .conftest import client, publish, service_env, wait_applied

__all__ = ["client"]  # the fixture, used by name


async def test_idle_stays_ready_and_quiet_then_follows_a_nats_restart(
    restartable_nats: LocalNats, sqlite_url: str, tmp_path: Any, client: Any
) -> None:
    nats_url = restartable_nats.url
    env = service_env(nats_url, sqlite_url, AS2BUS_TRACKLOG_FETCH_SECONDS="0.2")
    proc = ServiceProcess("as2bus.tracklog", env, tmp_path / "tracklog.log").start()
    try:
        api = client(proc, token=False)
        await publish(nats_url, outbound("<before@myco>")[:1])
        await wait_applied(client(proc), 1)
        # Idle for many fetch timeouts: ready every time asked, nothing restarted or failed.
        for _ in range(40):
            assert (await api.get("/readyz")).status_code == 200, proc.log()
            await asyncio.sleep(0.1)  # idling is the point: asked again and again meanwhile
        quiet = proc.log()
        assert "consumer stopped" not in quiet
        assert "WARNING" not in quiet, quiet
        assert "ERROR" not in quiet, quiet

        await asyncio.to_thread(restartable_nats.restart, 1.0)
        await publish(nats_url, outbound("<after@myco>"))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_applied(client(proc), 1 + len(outbound("<after@myco>")), timeout=10)
        assert loop.time() - started < 5, proc.log()
        assert (await api.get("/readyz")).status_code == 200, proc.log()
    finally:
        proc.stop()
