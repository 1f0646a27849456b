"""The tests' waiting helpers on a real NATS server: a message caused by an action is not
missed, and events on a stream are waited for, with a clear failure when they do not come."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
import pytest

from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus import ensure_streams
from as2bus.shared.settings import StreamSettings
from as2bus.testing.waiting import events_of, next_message, stream_events


def event(kind: str, n: int) -> bytes:
    return json.dumps({"event_type": kind, "n": n}).encode()


async def test_next_message_returns_the_matching_message_published_after_it_subscribed(
    nats_url: str,
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.publish("as2.evt.cert.keystore.created", b'{"n": 0}')  # before: not seen
        await nc.flush()

        def second(msg: Any) -> bool:
            return bool(json.loads(msg.data)["n"] == 2)

        async with next_message(nc, "as2.evt.cert.>", where=second) as got:
            # Published at once, by another connection: subscribed before, so not missed.
            other = await nats.connect(nats_url)
            for n in (1, 2, 3):
                await other.publish(f"as2.evt.cert.certificate.n{n}", f'{{"n": {n}}}'.encode())
            await other.close()
            msg = await got(timeout=5)
        assert msg.subject == "as2.evt.cert.certificate.n2"
        assert await got(timeout=0.1) is msg  # the same one, asked again
    finally:
        await nc.close()


async def test_next_message_says_what_came_instead_when_the_message_does_not(
    nats_url: str,
) -> None:
    nc = await nats.connect(nats_url)
    try:
        async with next_message(nc, "as2.evt.cert.>", where=lambda _m: False) as got:
            await nc.publish("as2.evt.cert.certificate.imported", b'{"alias": "acme"}')
            with pytest.raises(AssertionError) as failed:
                await got(timeout=0.3)
        message = str(failed.value)
        assert message == (
            "no message of the kind waited for on as2.evt.cert.> within 0.3 s; "
            """others seen: as2.evt.cert.certificate.imported: b'{"alias": "acme"}'"""
        )
    finally:
        await nc.close()


async def test_events_of_waits_for_enough_events_of_the_kinds_asked(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        assert await stream_events(js) == []  # no stream yet: nothing, not an error
        await ensure_streams(js, StreamSettings())

        async def publish_later() -> None:
            for n, kind in enumerate(["MessageQueued", "MessageSent", "MessageSent"]):
                await asyncio.sleep(0.1)  # events that come later: simulated
                await js.publish(f"as2.evt.message.outbound.e{n}", event(kind, n))

        publishing = asyncio.create_task(publish_later())
        sent = await events_of(js, "MessageSent", "MessageFailed", count=2, timeout=10)
        await publishing
        assert [(e["event_type"], e["n"]) for e in sent] == [("MessageSent", 1), ("MessageSent", 2)]
        assert [e["n"] for e in await stream_events(js, EVENTS_STREAM)] == [0, 1, 2]
        assert await events_of(js, "MessageFailed", count=0) == []
    finally:
        await nc.close()


async def test_events_of_fails_naming_what_the_stream_holds(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await ensure_streams(js, StreamSettings())
        await js.publish("as2.evt.message.outbound.queued", event("MessageQueued", 0))
        with pytest.raises(AssertionError) as failed:
            await events_of(js, "MessageDelivered", timeout=0.3)
        message = str(failed.value)
        assert "waiting for 1 of ['MessageDelivered'] on AS2_EVENTS" in message
        assert "0 so far; the stream holds ['MessageQueued']" in message
    finally:
        await nc.close()
