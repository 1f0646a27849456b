"""``as2bus inbox --follow DIR``: received documents into a folder, for users without a bus
consumer of their own. A durable JetStream consumer remembers what was saved; a message is
acknowledged only once its document is on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, DeliverPolicy

from as2bus.cli.inbox_files import safe_name, save, seen
from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.contracts import MessageReceived
from as2bus.shared.subjects import EVENTS_STREAM

Report = Callable[[str], None]


async def follow(
    nats_url: str,
    directory: Path,
    *,
    durable: str = "as2bus-inbox",
    once: bool = False,
    report: Report = print,
) -> int:
    """Save documents until interrupted (or, with ``once``, until none are waiting)."""
    nc = await nats.connect(nats_url)
    saved = 0
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(
            MessageReceived.subject,
            durable=durable,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=60),
        )
        store = DocumentStore(await documents_bucket(js))
        done = seen(directory)
        while True:
            try:
                batch = await subscription.fetch(10, timeout=1 if once else 5)
            except NatsTimeout:
                if once:
                    return saved
                continue
            for msg in batch:
                event = MessageReceived.model_validate_json(msg.data)
                if str(event.event_id) not in done:
                    data = await store.get(event.data.document)
                    fallback = f"{event.data.partner}-{event.data.document.sha256[:12]}.dat"
                    name = safe_name(event.data.filename, fallback)
                    path = save(directory, name, data, str(event.event_id))
                    done.add(str(event.event_id))
                    saved += 1
                    report(f"saved {path} ({len(data)} bytes) from {event.data.partner}")
                await msg.ack()
    finally:
        await nc.close()


def run_follow(nats_url: str, directory: Path, durable: str, once: bool) -> int:
    try:
        return asyncio.run(follow(nats_url, directory, durable=durable, once=once))
    except KeyboardInterrupt:
        return 0
