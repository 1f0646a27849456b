"""Following send requests to their outcome and receiving documents, for systems written in
Python with this package and nats-py alone (docs/integrating.md describes the same steps for
any language; the services' tests use it too).

A durable consumer of the events stream, created before the first publish, sees every event
that follows and resumes where it stood after a restart::

    outcomes = await EventConsumer.open(nc.jetstream(), "erp-outcomes", OUTCOME_SUBJECTS)
    request = await send_document(nc, data, station="MYCO", partner="AMAZON")
    event = await outcomes.outcome(request.request_id, timeout=60)

Each event is acknowledged once it has been handed over, those of other requests too: give
each process that waits its own durable consumer, and ask it for every request it waits for
(an outcome that comes while nobody asks for its request is passed over).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable

from nats.aio.msg import Msg
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
        """The next events (none after ``wait`` seconds without any), acknowledged as they are
        handed over: for outcomes, where losing one to a crash costs only a wait. Events of a
        type this version does not know are skipped. Documents: ``handle``."""
        events = []
        for msg in await self._fetch(batch, wait):
            with contextlib.suppress(UnknownEventError):
                events.append(parse_event(msg.data))
            await msg.ack()
        return events

    async def handle(
        self,
        handler: Callable[[Event], Awaitable[None]],
        *,
        batch: int = 50,
        wait: float = 1.0,
    ) -> int:
        """Hand the next events to ``handler`` one by one, each acknowledged only once
        ``handler`` has returned; how many (0 after ``wait`` seconds without any). When it
        raises, that event and the rest of the batch are not acknowledged: JetStream delivers
        them again (after the consumer's ack wait), so a document is stored before its event
        is let go. Events of a type this version does not know are acknowledged, unhandled."""
        handled = 0
        for msg in await self._fetch(batch, wait):
            try:
                event = parse_event(msg.data)
            except UnknownEventError:
                await msg.ack()
                continue
            await handler(event)
            await msg.ack()
            handled += 1
        return handled

    async def _fetch(self, batch: int, wait: float) -> list[Msg]:
        assert self._sub is not None
        try:
            return await self._sub.fetch(batch, timeout=wait)
        except (TimeoutError, NatsTimeoutError):
            return []

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

    async def outcome(self, request_id: str, *, timeout: float) -> Outcome:
        """The one MessageDelivered, MessageFailed or MessageRejected of a request; TimeoutError
        when none comes within ``timeout`` seconds."""
        return (await self.outcomes([request_id], timeout=timeout))[request_id]

    async def unsubscribe(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
