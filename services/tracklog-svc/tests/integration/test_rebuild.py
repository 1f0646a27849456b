"""Rebuild equals live: the service builds its projection as events arrive (and survives a
crash in the middle); the rebuild command replays the stream into a second database; the two
are compared row by row."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

from as2bus.contracts import Event
from as2bus.testing.tracklog import T0, inbound, outbound, rejected
from as2bus.tracklog.rebuild import rebuild as rebuild_projection
from as2bus.tracklog.settings import TracklogSettings

from .conftest import client, publish, service_env, snapshot, stop, wait_applied

__all__ = ["client"]  # the fixture, used by name


def waves() -> list[list[Event]]:
    """Three waves of traffic; a message's later events often come in a later wave."""
    first, second, third = [], [], []
    for n in range(12):
        at = T0 + timedelta(minutes=n)
        events = outbound(f"<o{n}@myco>", at=at, retries=n % 3, mdn_mode="async",
                          partner=("acme", "globex")[n % 2])  # fmt: skip
        first += events[:2]
        second += events[2:-1]
        third += events[-1:]
        more = [(f"part-{k}.xml", "application/xml", 100 + k) for k in range(n % 3)]
        received = inbound(f"<i{n}@acme>", at=at, duplicates=n % 2, attachments=more)
        (first if n % 2 else second).extend(received[:1])
        third.extend(received[1:])
    third.append(rejected(direction="inbound", message_id="<bad@acme>"))
    return [first, second, third]


def rebuild(nats_url: str, url: str, consumer: str) -> str:
    env = {**os.environ, **service_env(nats_url, url, AS2BUS_TRACKLOG_CONSUMER=consumer)}
    done = subprocess.run(
        [sys.executable, "-m", "as2bus.tracklog", "rebuild"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_rebuild_equals_the_projection_built_live(
    nats_url: str, database_url: str, second_database_url: str, start_service: Any, client: Any
) -> None:
    first, second, third = waves()
    live = start_service(database_url)
    api = client(live)
    await publish(nats_url, first)
    await wait_applied(api, len(first))
    live.kill()  # a crash: acknowledged batches are kept, the rest is redelivered
    await publish(nats_url, second, again=first[:5])
    restarted = start_service(database_url)
    api = client(restarted)
    await publish(nats_url, third)
    total = len(first) + len(second) + len(third)
    await wait_applied(api, total)
    stop(restarted)

    out = await asyncio.to_thread(rebuild, nats_url, second_database_url, "tracklog-rebuild")
    assert f"tracklog rebuilt: {total + 5} events applied" in out  # the 5 repeats were skipped
    built_live, rebuilt = await snapshot(database_url), await snapshot(second_database_url)
    assert len(built_live["messages"]) == 25
    assert len(built_live["timeline"]) == total
    for table, rows in built_live.items():
        assert rebuilt[table] == rows, table

    # Rebuilding in place (service stopped) gives the same again, from a fresh consumer.
    settings = TracklogSettings(nats_url=nats_url, database_url=database_url)
    assert await rebuild_projection(settings) == total + 5
    assert await snapshot(database_url) == built_live
