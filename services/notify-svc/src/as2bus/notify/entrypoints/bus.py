"""notify-svc's feed: a durable pull consumer of the outbound message and certificate events.

Created at the stream's end the first time (an outage from last month is nobody's news), it
keeps its position afterwards: a restart goes on where it stopped. Each event is handled in its
own transaction and acknowledged after the commit; one that fails (database down, config-svc
not answering for the rules) is redelivered later and, being idempotent, applied once. An
event this version does not know is acknowledged and skipped.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter
from pydantic import ValidationError

from as2bus.contracts import Event, UnknownEventError, parse_event
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.notify.service import Notifier

log = logging.getLogger(__name__)

SUBJECTS = ["as2.evt.message.outbound.>", "as2.evt.cert.certificate.>"]
HANDLED = Counter("as2bus_notify_events_total", "Events handled by outcome", ["outcome"])


def decode(raw: bytes) -> Event | None:
    try:
        return parse_event(raw)
    except UnknownEventError:
        HANDLED.labels("unknown-type").inc()
    except ValidationError as err:
        HANDLED.labels("undecodable").inc()
        log.warning("an event that does not match its contract was skipped: %s", err)
    return None


class Consumer:
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
        self._js = js
        self._notifier = notifier
        self._durable = durable
        self._fetch_timeout = fetch_timeout
        self._retry_seconds = retry_seconds
        self._batch_size = batch_size
        self.consuming = False
        self.last_error: str | None = None

    def not_ready_reason(self) -> str | None:
        if not self.consuming:
            return self.last_error or "the consumer has not fetched from the stream yet"
        return None

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run()
            except Exception as err:
                self.consuming = False
                self.last_error = f"{type(err).__name__}: {err}"[:300]
                log.warning("consumer stopped, restarting: %s", self.last_error)
                await asyncio.sleep(self._retry_seconds)

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
                    await self._handle(msg)
        finally:
            await subscription.unsubscribe()

    async def _handle(self, msg: Msg) -> None:
        event = decode(msg.data)
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
