"""The projection's feed: a durable pull consumer of every event, from the stream's start.

Events are fetched in batches, applied in one transaction, and acknowledged only after the
commit. An event this version does not know is acknowledged and counted, never retried
forever; a batch that fails (database down) is redelivered and, being idempotent, applied once.

Idling is a fetch that finds nothing: nats-py ends it with a timeout, or (when the server's
"request timeout" status arrives first) with an empty batch. Both are normal and quiet; taking
the empty batch for an error restarted the consumer every few seconds and kept it unready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Gauge

from as2bus.contracts.subjects import EVENTS_STREAM, EVENTS_SUBJECTS
from as2bus.shared.bus.log_context import about_bus_message
from as2bus.shared.bus.pull_consumer import RestartingConsumer, decode_event
from as2bus.shared.tracing import consumer_spans, tracing_enabled
from as2bus.tracklog.service import Projector

log = logging.getLogger(__name__)

SKIPPED = Counter(
    "as2bus_tracklog_skipped_events_total", "Events acknowledged unapplied", ["reason"]
)
LAG = Gauge("as2bus_tracklog_lag_events", "Events on the stream not yet fetched by the consumer")
FAILED_BATCHES = Counter("as2bus_tracklog_failed_batches_total", "Batches that will be retried")


class Consumer(RestartingConsumer):
    def __init__(
        self,
        js: JetStreamContext,
        projector: Projector,
        *,
        durable: str,
        batch_size: int = 256,
        fetch_timeout: float = 1.0,
        retry_seconds: float = 1.0,
        linger_seconds: float = 0.0,
    ) -> None:
        super().__init__(retry_seconds)
        self._js = js
        self._projector = projector
        self._durable = durable
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._linger_seconds = linger_seconds
        self.applied = 0
        self._batch_failing = False

    def not_ready_reason(self) -> str | None:
        """Why the consumer is not consuming right now (None: it is): also while its batches
        fail (the database away), though it fetches."""
        if not self.consuming:
            return super().not_ready_reason()
        return self.last_error if self._batch_failing else None

    async def reset(self) -> None:
        """Forget the consumer's position, so the next run starts from the stream's start."""
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(EVENTS_STREAM, self._durable)

    async def pending(self) -> int | None:
        """Events on the stream not yet acknowledged by this consumer (None before it exists)."""
        try:
            info = await self._js.consumer_info(EVENTS_STREAM, self._durable)
        except NotFoundError:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def run(self, *, until_caught_up: bool = False) -> int:
        """Apply events until cancelled, or until none are waiting; returns how many."""
        subscription = await self._js.pull_subscribe(
            EVENTS_SUBJECTS,
            durable=self._durable,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=60,
                max_ack_pending=max(1000, 4 * self._batch_size),
            ),
        )
        try:
            while True:
                try:
                    batch = await subscription.fetch(self._batch_size, timeout=self._fetch_timeout)
                except TimeoutError:  # nats-py's TimeoutError is one too
                    batch = []
                self._fetched()
                if not batch:
                    LAG.set(0)
                    if until_caught_up and not await self.pending():
                        return self.applied
                    continue
                done = await self._handle(batch) and batch[-1].metadata.num_pending == 0
                # Caught up means nothing left to deliver *and* nothing delivered but not yet
                # acknowledged: a failed batch waits for redelivery and still counts.
                if done and until_caught_up and not await self.pending():
                    return self.applied
                if done and self._linger_seconds:
                    # Live, events trickle in one at a time: let some gather so one
                    # transaction carries many (per-batch cost dominated the projection).
                    await asyncio.sleep(self._linger_seconds)
        finally:
            await subscription.unsubscribe()

    def _fetched(self) -> None:
        if not self.consuming and not self._batch_failing:
            self.last_error = None  # the stop it recorded is over
        self.consuming = True

    async def _handle(self, msgs: list[Msg]) -> bool:
        # A warning about one event names it (its correlation id); the batch is applied as
        # one, so the lines about applying it name no single message (its spans do).
        events = []
        for msg in msgs:
            with about_bus_message(msg.subject, msg.headers):
                event = decode_event(msg.data, SKIPPED)
            if event is not None:
                events.append(event)
        traced = (
            [(m.headers, m.headers.get("correlation_id", "")) for m in msgs if m.headers]
            if tracing_enabled()
            else ()
        )
        try:
            with consumer_spans(traced):
                await self._projector.apply(events)
        except Exception as err:  # database down, a lost race with another replica: retry
            FAILED_BATCHES.inc()
            self._batch_failing = True
            self.last_error = f"{type(err).__name__}: {err}"[:300]
            log.warning("batch of %d events failed, will retry: %s", len(msgs), self.last_error)
            for msg in msgs:
                await msg.nak(delay=self._retry_seconds)
            await asyncio.sleep(self._retry_seconds)
            return False
        self._batch_failing = False
        self.last_error = None
        self.applied += len(events)
        for msg in msgs:
            await msg.ack()
        LAG.set(msgs[-1].metadata.num_pending)
        return True
