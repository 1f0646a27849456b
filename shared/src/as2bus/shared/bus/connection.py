"""One NATS connection per process, shared by faststream (handlers, publishing) and the
JetStream management API (streams, key-value buckets) that faststream does not wrap."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext

from as2bus.shared.bus.streams import ensure_streams
from as2bus.shared.settings import StreamSettings


@dataclass
class Bus:
    broker: NatsBroker
    client: Client
    js: JetStreamContext

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected)

    async def close(self) -> None:
        await self.broker.stop()


async def open_bus(
    url: str,
    *,
    name: str,
    streams: StreamSettings | None = None,
    broker: NatsBroker | None = None,
) -> Bus:
    """Connect and declare the streams idempotently.

    A first connection that fails raises at once (the process exits and its supervisor
    restarts it); once connected, the client reconnects forever through NATS restarts.
    """
    broker = broker or NatsBroker(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        graceful_timeout=10,
        logger=logging.getLogger("as2bus.bus"),
    )
    client = await broker.connect()
    js = client.jetstream()
    await ensure_streams(js, streams or StreamSettings())
    return Bus(broker=broker, client=client, js=js)
