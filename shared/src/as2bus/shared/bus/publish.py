"""Publishing events so that a retry never makes a second copy."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.js.api import PubAck

from as2bus.contracts.envelope import Event
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.tracing import resumed

EVENT_TYPE_HEADER = "As2bus-Event-Type"

#: The NATS headers of every event (docs/asyncapi.json documents them from here).
EVENT_HEADERS: dict[str, str] = {
    "Nats-Msg-Id": "The event_id: JetStream drops a second publish of the same event",
    EVENT_TYPE_HEADER: "The event_type (e.g. MessageDelivered): dispatch without parsing",
    "correlation_id": "The payload's correlation_id, always the same value",
    "content-type": "application/json",
    "Nats-Expected-Stream": "AS2_EVENTS: JetStream stores the event there or refuses it",
}


async def publish_event(broker: NatsBroker, event: Event, *, timeout: float = 5.0) -> PubAck:
    """Publish to the events stream and wait for JetStream's ack.

    ``Nats-Msg-Id`` is the event id, so JetStream drops a re-publish of the same event inside
    the dedup window (faststream's own message id is not used for that). An event from the
    outbox is published in the trace of the transaction that stored it, or else of the
    message it is about (shared/tracing.py).
    """
    with resumed(str(event.event_id), forget=True, or_else=event.correlation_id):
        ack: PubAck = await broker.publish(
            event.model_dump(mode="json"),
            event.subject,
            headers={"Nats-Msg-Id": str(event.event_id), EVENT_TYPE_HEADER: event.event_type},
            correlation_id=event.correlation_id,
            stream=EVENTS_STREAM,
            timeout=timeout,
        )
    return ack
