"""A handler that fails gets its message again after a delay, on a real JetStream work queue
(the commands stream is one): faststream's default would delete it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import RetentionPolicy, StreamConfig

from as2bus.shared.bus import new_broker
from as2bus.shared.bus.redelivery import redelivered_later
from as2bus.testing.waiting import until

Handler = Callable[[bytes], Awaitable[None]]


class Early(Exception):
    pass


@asynccontextmanager
async def work_queue(nats_url: str) -> AsyncIterator[tuple[str, str]]:
    """A work-queue stream of its own: (stream, subject)."""
    tag = uuid.uuid4().hex[:12]
    stream, subject = f"TEST_REDELIVERY_{tag}", f"test.redelivery.{tag}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name=stream, subjects=[subject], retention=RetentionPolicy.WORK_QUEUE)
    )
    try:
        yield stream, subject
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def stored(nats_url: str, stream: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    finally:
        await nc.close()


async def _empty(nats_url: str, stream: str) -> bool:
    return await stored(nats_url, stream) == 0


def subscribe(broker: NatsBroker, stream: str, subject: str, handler: Handler) -> None:
    broker.subscriber(
        subject,
        stream=JStream(stream, declare=False),
        durable=f"{stream}-worker",
        pull_sub=PullSub(batch_size=1, timeout=0.2),
    )(handler)


async def test_a_failing_handler_gets_its_message_again_later_and_less_often(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []
    broker = new_broker(nats_url, name="redelivery-test")

    async def handler(body: bytes) -> None:
        async with redelivered_later(broker.context, "a test message", not_yet=(Early,)):
            calls.append(time.monotonic())
            if len(calls) == 1:
                raise ConnectionRefusedError("the database is away")
            if len(calls) == 2:
                raise Early("its message is not recorded yet")

    async with work_queue(nats_url) as (stream, subject):
        subscribe(broker, stream, subject, handler)
        with caplog.at_level(logging.INFO, logger="as2bus.bus"):
            await broker.start()
            try:
                await broker.publish(b"order-1", subject, stream=stream)
                await until(lambda: len(calls) == 3, what="the third delivery", timeout=15)
                # handled at last, so acknowledged and gone from the queue
                await until(lambda: _empty(nats_url, stream), what="the ack", timeout=5)
            finally:
                await broker.stop()
    first_gap, second_gap = calls[1] - calls[0], calls[2] - calls[1]
    assert 0.45 <= first_gap < 3  # 0.5 s after the first delivery
    assert 0.95 <= second_gap < 4  # then 1 s
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    lines = [(level, text) for level, text in said if "test message" in text]
    assert lines == [
        (
            logging.WARNING,
            "a test message could not be handled (delivery 1), again in 0.5 s: "
            "ConnectionRefusedError: the database is away",
        ),
        (
            logging.INFO,
            "a test message could not be handled (delivery 2), again in 1 s: "
            "Early: its message is not recorded yet",
        ),
    ]


async def test_without_it_faststream_deletes_a_work_queue_message_whose_handler_fails(
    nats_url: str,
) -> None:
    """Why ``redelivered_later`` exists: faststream's default ack policy rejects (JetStream
    ``term``) a message whose handler raised, and on a work queue that removes it."""
    calls = 0
    broker = new_broker(nats_url, name="redelivery-premise")

    async def handler(body: bytes) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("the database is away")

    async with work_queue(nats_url) as (stream, subject):
        subscribe(broker, stream, subject, handler)
        await broker.start()
        try:
            await broker.publish(b"order-1", subject, stream=stream)
            await until(lambda: calls == 1, what="the first delivery", timeout=10)
            await asyncio.sleep(2)  # ample for a redelivery, were there one
            assert calls == 1
            assert await stored(nats_url, stream) == 0
        finally:
            await broker.stop()
