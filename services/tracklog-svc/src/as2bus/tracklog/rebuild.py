"""``as2bus-tracklog rebuild``: drop the projection and replay the events stream into it.

The result equals the projection built live (a test compares them row by row), because every
merge rule is independent of arrival order and every event is applied once.

Either stop the service first (same database, same consumer name: it continues from where the
rebuild stopped), or rebuild into a new database under a new consumer name while the service
keeps serving, then point the service at the new database and consumer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from alembic import command

from as2bus.shared.bus import open_bus
from as2bus.shared.db import alembic_config, create_engine, session_factory
from as2bus.shared.logs import configure_logging
from as2bus.tracklog.bootstrap import MIGRATIONS
from as2bus.tracklog.entrypoints.bus import Consumer
from as2bus.tracklog.service import Projector
from as2bus.tracklog.settings import TracklogSettings


def recreate_schema(url: str) -> None:
    """Drop every table of the projection (Alembic's way back to nothing), then create them."""
    config = alembic_config(MIGRATIONS, url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


async def rebuild(settings: TracklogSettings) -> int:
    """Replay the whole events stream into an empty projection; returns the events applied."""
    await asyncio.to_thread(recreate_schema, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    bus = await open_bus(settings.nats_url, name="tracklog-rebuild", streams=settings.events)
    try:
        consumer = Consumer(
            bus.js,
            Projector(session_factory(engine)),
            durable=settings.consumer,
            batch_size=settings.batch_size,
        )
        await consumer.reset()  # a fresh consumer: from the stream's first event
        return await consumer.run(until_caught_up=True)
    finally:
        await bus.close()
        await engine.dispose()


def rebuild_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="as2bus-tracklog rebuild",
        description="Drop the projection in AS2BUS_DATABASE_URL and replay every event of the "
        "stream into it, with a fresh consumer named AS2BUS_TRACKLOG_CONSUMER. Stop the service "
        "first, or rebuild into another database under another consumer name.",
    )
    parser.parse_args(argv)
    try:
        settings = TracklogSettings()
    except ValueError as err:
        print(f"tracklog-svc: {err}", file=sys.stderr)
        return 2
    configure_logging("tracklog-svc", settings.log_level, json_lines=settings.log_json)
    started = time.perf_counter()
    applied = asyncio.run(rebuild(settings))
    elapsed = time.perf_counter() - started
    print(f"tracklog rebuilt: {applied} events applied in {elapsed:.1f} s")
    return 0
