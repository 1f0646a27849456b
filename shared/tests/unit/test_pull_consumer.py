"""The shared part of the events-stream consumers: what is skipped, and staying up."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from prometheus_client import CollectorRegistry, Counter

from as2bus.contracts import MessageRejected, Rejection
from as2bus.shared.bus.pull_consumer import RestartingConsumer, decode_event


def _skipped() -> Counter:
    return Counter("skipped", "test", ["reason"], registry=CollectorRegistry())


def _count(counter: Counter, reason: str) -> float:
    return float(counter.labels(reason)._value.get())


def test_a_known_event_is_decoded_and_others_are_counted_and_skipped() -> None:
    event = MessageRejected(
        correlation_id="r-1",
        data=Rejection(
            direction="outbound",
            message_id=None,
            station=None,
            partner=None,
            modifier="X",
            code="X",
            reason="because",
        ),
    )
    skipped = _skipped()
    decoded = decode_event(event.model_dump_json().encode(), skipped)
    assert decoded is not None
    assert decoded.event_id == event.event_id
    unknown = {**json.loads(event.model_dump_json()), "event_type": "no.such.event"}
    assert decode_event(json.dumps(unknown).encode(), skipped) is None
    broken = {**json.loads(event.model_dump_json()), "data": {"direction": 7}}
    assert decode_event(json.dumps(broken).encode(), skipped) is None
    assert (_count(skipped, "unknown-type"), _count(skipped, "undecodable")) == (1, 1)


class Flaky(RestartingConsumer):
    """Fails twice, then consumes until cancelled."""

    def __init__(self) -> None:
        super().__init__(retry_seconds=0.01)
        self.runs = 0
        self.reasons: list[str | None] = []

    async def run(self) -> object:
        self.runs += 1
        self.reasons.append(self.not_ready_reason())
        if self.runs <= 2:
            raise ConnectionError(f"nats gone ({uuid.uuid4()})")
        self.consuming = True
        await asyncio.Event().wait()
        return None


async def test_a_consumer_that_stops_is_started_again_and_says_why_meanwhile() -> None:
    consumer = Flaky()
    assert consumer.not_ready_reason() == "the consumer has not fetched from the stream yet"
    task = asyncio.create_task(consumer.run_forever())
    try:
        for _ in range(200):
            if consumer.consuming:
                break
            await asyncio.sleep(0.01)
        assert consumer.runs == 3
        assert consumer.reasons[1] is not None
        assert consumer.reasons[1].startswith("ConnectionError: nats gone")
        assert consumer.not_ready_reason() is None
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
