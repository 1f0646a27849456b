"""Following send requests to their outcome and receiving documents, for systems written in
Python (docs/integrating.md describes the same steps for any language).

A durable consumer of the events stream, created before the first publish, sees every event
that follows and resumes where it stood after a restart::

    outcomes = await EventConsumer.open(nc.jetstream(), "erp-outcomes", OUTCOME_SUBJECTS)
    request = await send_document(nc, data, station="MYCO", partner="AMAZON")
    (event,) = (await outcomes.outcomes([request.request_id], timeout=60)).values()
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from as2bus.contracts import (
    Event,
    MessageDelivered,
    MessageFailed,
    MessageReceived,
    MessageRejected,
    UnknownEventError,
    parse_event,
)
from as2bus.contracts.subjects import EVENTS_STREAM

#: The events that end a send request: one of them, exactly once, for each.
OUTCOME_SUBJECTS = (MessageDelivered.subject, MessageFailed.subject, MessageRejected.subject)
RECEIVED_SUBJECTS = (MessageReceived.subject,)

Outcome = MessageDelivered | MessageFailed | MessageRejected


def request_of(event: Event) -> str | None:
    """The send request an outcome event is about (None for anything else)."""
    if isinstance(event, MessageDelivered | MessageFailed):
        return event.data.request_id
    if isinstance(event, MessageRejected) and event.data.direction == "outbound":
        return event.data.request_id
    return None


class EventConsumer:
    def __init__(self, js: JetStreamContext, durable: str) -> None:
        self._js = js
        self._durable = durable
        self._sub: JetStreamContext.PullSubscription | None = None

    @classmethod
    async def open(
        cls, js: JetStreamContext, durable: str, subjects: Iterable[str]
    ) -> EventConsumer:
        """Bind to the durable consumer, creating it on first use with deliver policy *new*:
        create it before publishing, or the outcome can come before it exists."""
        consumer = cls(js, durable)
        try:
            await js.consumer_info(EVENTS_STREAM, durable)
        except NotFoundError:
            config = ConsumerConfig(
                durable_name=durable,
                filter_subjects=list(subjects),
                deliver_policy=DeliverPolicy.NEW,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=60,
            )
            await js.add_consumer(EVENTS_STREAM, config)
        consumer._sub = await js.pull_subscribe_bind(durable, stream=EVENTS_STREAM)
        return consumer

    async def next(self, *, batch: int = 50, wait: float = 1.0) -> list[Event]:
        """The next events (none after ``wait`` seconds without any), acknowledged: act on
        them before asking for more. Events of a type this version does not know are skipped."""
        assert self._sub is not None
        try:
            messages = await self._sub.fetch(batch, timeout=wait)
        except (TimeoutError, NatsTimeoutError):
            return []
        events = []
        for msg in messages:
            with contextlib.suppress(UnknownEventError):
                events.append(parse_event(msg.data))
            await msg.ack()
        return events

    async def outcomes(self, request_ids: Iterable[str], *, timeout: float) -> dict[str, Outcome]:
        """Each request's terminal event; TimeoutError naming those still without one.
        Other requests' outcomes (other publishers share the subjects) are passed over."""
        waiting = set(request_ids)
        found: dict[str, Outcome] = {}
        deadline = time.monotonic() + timeout
        while waiting - set(found):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no outcome yet for {sorted(waiting - set(found))}")
            for event in await self.next(wait=min(left, 1.0)):
                request_id = request_of(event)
                if request_id in waiting and isinstance(event, Outcome):
                    found[request_id] = event
        return found

    async def unsubscribe(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
