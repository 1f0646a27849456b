"""tracklog benchmark: ingest rate and list-query latency at size. Not a test (not collected).

    uv run python services/tracklog-svc/bench/bench_projection.py --messages 1000000 \\
        --database postgresql            # or sqlite; --quick: 20,000 messages

1. Ingest: events of ``--messages`` messages fed to the real Projector in batches (the
   consumer's code path minus NATS), timed without the time spent making the events.
2. Through NATS: a sample published to a real JetStream, then consumed by the real Consumer
   into a fresh database: the end-to-end rate.
3. Queries: the list query of the API (Reads.messages, page of 50) with each filter, random
   values, p50/p99 over ``--queries`` runs; then the dashboard figures for one day.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_data
import nats
import sqlalchemy as sa
from bench_queries import Make, scenarios

from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus import ensure_streams
from as2bus.shared.db import create_engine, session_factory, upgrade_database
from as2bus.shared.settings import StreamSettings
from as2bus.testing import infra
from as2bus.tracklog.bootstrap import MIGRATIONS
from as2bus.tracklog.entrypoints.bus import Consumer
from as2bus.tracklog.reads import Reads
from as2bus.tracklog.service import Projector


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


async def ingest(url: str, messages: int, batch: int) -> tuple[int, float]:
    engine = create_engine(url)
    projector = Projector(session_factory(engine))
    events, spent, started = 0, 0.0, time.perf_counter()
    for chunk in bench_data.chunks(messages, 5000):
        t = time.perf_counter()
        for i in range(0, len(chunk), batch):
            await projector.apply(chunk[i : i + batch])
        spent += time.perf_counter() - t
        events += len(chunk)
        elapsed = time.perf_counter() - started
        print(f"\r  {events:,} events, {events / spent:,.0f}/s, {elapsed:.0f} s", end="")
    print()
    if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
        async with engine.connect() as conn:
            await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()
    return events, spent


async def through_nats(nats_url: str, url: str, messages: int, batch: int) -> tuple[int, float]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, StreamSettings())
    events = [e for chunk in bench_data.chunks(messages, 5000, seed=2) for e in chunk]
    for event in events:  # published first: the consumer's rate is what is measured
        headers = {"Nats-Msg-Id": str(event.event_id)}
        await js.publish(event.subject, event.to_bytes(), stream=EVENTS_STREAM, headers=headers)
    engine = create_engine(url)
    consumer = Consumer(js, Projector(session_factory(engine)), durable="bench", batch_size=batch)
    started = time.perf_counter()
    applied = await consumer.run(until_caught_up=True)
    spent = time.perf_counter() - started
    await engine.dispose()
    await nc.close()
    return applied, spent


async def timed(run: Callable[[], Awaitable[Any]], times: int) -> list[float]:
    for _ in range(min(10, times)):  # warm caches and the connection pool
        await run()
    found = []
    for _ in range(times):
        t = time.perf_counter()
        await run()
        found.append((time.perf_counter() - t) * 1000)
    return found


async def query(url: str, messages: int, times: int) -> list[tuple[str, float, float, float]]:
    engine = create_engine(url)
    reads = Reads(session_factory(engine))
    results = []
    for name, make in scenarios(messages):
        rows: list[int] = []

        async def one(make: Make = make, rows: list[int] = rows) -> None:
            f, options = make()
            defaults: dict[str, Any] = {"sort": "created_at", "order": "desc", "cursor": None}
            page = await reads.messages(f, limit=50, **(defaults | options))
            rows.append(len(page.items))

        ms = await timed(one, times)
        results.append((name, percentile(ms, 0.5), percentile(ms, 0.99), statistics.mean(rows)))
    since = bench_data.T0 + bench_data.SPAN / 2
    until = since + timedelta(days=1)
    ms = await timed(lambda: reads.stats(since, until, "hour", None), 20)
    results.append(("stats: 1 day by hour (20 runs)", percentile(ms, 0.5), percentile(ms, 0.99), 0))
    await engine.dispose()
    return results


def databases(kind: str, workdir: Path) -> tuple[Callable[[str], str], Callable[[], None]]:
    """A factory of empty database URLs, and the clean-up."""
    if kind == "sqlite":
        return (lambda name: f"sqlite+aiosqlite:///{workdir / name}.db"), (lambda: None)
    server = infra.start_postgres()
    print(f"  {server.describe()}")

    def make(name: str) -> str:
        server.create_database(name)
        return server.database_url(name)

    return make, server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--quick", action="store_true", help="20,000 messages, small samples")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction")
    parser.add_argument("--queries", type=int, default=200, help="runs per filter")
    parser.add_argument("--nats-sample", type=int, default=20_000, help="messages via NATS")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if args.quick:
        args.messages, args.queries, args.nats_sample = 20_000, 50, 2_000
    # Durable settings (not the tests' fsync=off), and data on disk rather than in RAM.
    infra.PG_SETTINGS = ["max_connections=50"]
    workdir = Path(tempfile.mkdtemp(prefix="tracklog-bench-", dir=args.workdir))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user when we are root
    infra.scratch_dir = lambda prefix: Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"tracklog benchmark: {args.messages:,} messages on {args.database}; {machine}")
    make_db, stop_db = databases(args.database, workdir)
    nats_server = infra.start_nats()
    try:
        url = make_db("bench")
        upgrade_database(MIGRATIONS, url)
        events, spent = asyncio.run(ingest(url, args.messages, args.batch))
        print(
            f"ingest (projector, batches of {args.batch}): {events:,} events in {spent:.0f} s"
            f" = {events / spent:,.0f} events/s ({args.messages / spent:,.0f} messages/s)"
        )
        sample = make_db(f"nats_{uuid.uuid4().hex[:8]}")
        upgrade_database(MIGRATIONS, sample)
        run = through_nats(nats_server.url, sample, args.nats_sample, args.batch)
        applied, took = asyncio.run(run)
        print(
            f"through NATS (consumer, {args.nats_sample:,} messages): {applied:,} events"
            f" in {took:.1f} s = {applied / took:,.0f} events/s"
        )
        print(f"list queries at {args.messages:,} messages (page of 50, {args.queries} runs):")
        print(f"  {'filter':<44} {'p50 ms':>8} {'p99 ms':>8} {'rows':>6}")
        for name, p50, p99, rows in asyncio.run(query(url, args.messages, args.queries)):
            print(f"  {name:<44} {p50:8.1f} {p99:8.1f} {rows:6.0f}")
    finally:
        nats_server.stop()
        stop_db()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
