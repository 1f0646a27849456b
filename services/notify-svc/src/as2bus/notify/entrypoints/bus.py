"""notify-svc's feed: a durable pull consumer of the outbound message and certificate events.

Created at the stream's end the first time (an outage from last month is nobody's news), it
keeps its position afterwards: a restart goes on where it stopped. Each event is handled in its
own transaction and acknowledged after the commit; one that fails (database down, config-svc
not answering for the rules) is redelivered later and, being idempotent, applied once. An
event this version does not know is acknowledged and skipped.
"""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter

from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.notify.service import Notifier
from as2bus.shared.bus.log_context import about_bus_message
from as2bus.shared.bus.pull_consumer import RestartingConsumer, decode_event

log = logging.getLogger(__name__)

SUBJECTS = ["as2.evt.message.outbound.>", "as2.evt.cert.certificate.>"]
HANDLED = Counter("as2bus_notify_events_total", "Events handled by outcome", ["outcome"])


class Consumer(RestartingConsumer):
    def __init__(
        self,
        js: JetStreamContext,
        notifier: Notifier,
        *,
        durable: str,
        fetch_timeout: float = 2.0,
        retry_seconds: float = 2.0,
        batch_size: int = 50,
    ) -> None:
        super().__init__(retry_seconds)
        self._js = js
        self._notifier = notifier
        self._durable = durable
        self._fetch_timeout = fetch_timeout
        self._batch_size = batch_size

    async def run(self) -> None:
        await self._js.add_consumer(
            EVENTS_STREAM,
            ConsumerConfig(
                durable_name=self._durable,
                filter_subjects=SUBJECTS,
                deliver_policy=DeliverPolicy.NEW,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=60,
                max_ack_pending=1000,
            ),
        )
        subscription = await self._js.pull_subscribe_bind(self._durable, EVENTS_STREAM)
        try:
            while True:
                try:
                    batch = await subscription.fetch(self._batch_size, timeout=self._fetch_timeout)
                except TimeoutError:  # idling: nats-py's TimeoutError is one too
                    batch = []
                self.consuming, self.last_error = True, None
                for msg in batch:
                    with about_bus_message(msg.subject, msg.headers):  # its lines name it
                        await self._handle(msg)
        finally:
            await subscription.unsubscribe()

    async def _handle(self, msg: Msg) -> None:
        event = decode_event(msg.data, HANDLED)
        if event is None:
            await msg.ack()
            return
        try:
            await self._notifier.handle(event)
        except Exception as err:  # database down, rules not to be had: try again later
            HANDLED.labels("retried").inc()
            log.warning("event %s not handled, will retry: %s: %s",
                        event.event_id, type(err).__name__, err)  # fmt: skip
            await msg.nak(delay=self._retry_seconds)
            return
        HANDLED.labels("applied").inc()
        await msg.ack()
