"""Sends the queued deliveries: each on its own task with its own timeout, so one channel
that hangs or fails never holds up another; a failure is tried again later (domain/delivery.py)
and the outcome of every attempt is saved."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from prometheus_client import Counter

from as2bus.notify.domain.delivery import Delivery, after_failure
from as2bus.notify.ports import (
    Channel,
    DeliveryError,
    Sender,
    SetupSource,
    SetupUnavailableError,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)
SENT = Counter("as2bus_notify_deliveries_total", "Delivery attempts by outcome", ["outcome"])


class Dispatcher:
    def __init__(
        self,
        units: UnitOfWorkFactory,
        setup: SetupSource,
        senders: dict[str, Sender],
        *,
        clock: Callable[[], datetime],
        max_attempts: int = 12,
        first_pause_seconds: float = 5.0,
        timeout_seconds: float = 30.0,
        batch: int = 50,
    ) -> None:
        self._units = units
        self._setup = setup
        self._senders = senders
        self._clock = clock
        self._max_attempts = max_attempts
        self._first_pause = first_pause_seconds
        self._timeout = timeout_seconds
        self._batch = batch

    async def send_due(self) -> int:
        """Try every delivery that is due once; returns how many were tried."""
        async with self._units() as uow:
            due = await uow.deliveries.due(self._clock(), self._batch)
        if not due:
            return 0
        try:
            channels = (await self._setup.current()).channels
        except SetupUnavailableError as err:
            log.warning("notifications wait: %s", err)
            return 0
        outcomes = await asyncio.gather(*(self._attempt(d, channels) for d in due))
        async with self._units() as uow:
            for delivery, error in zip(due, outcomes, strict=True):
                await self._save(uow, delivery, error)
            await uow.commit()
        return len(due)

    async def _attempt(self, delivery: Delivery, channels: dict[str, Channel]) -> str | None:
        """None when sent; else why not, in one sentence."""
        channel = channels.get(delivery.channel_id)
        if channel is None:
            return "the channel no longer exists"
        if not channel.enabled:
            return "the channel is disabled"
        sender = self._senders.get(str(channel.target.get("type")))
        if sender is None:
            return f"no sender for channel type {channel.target.get('type')!r}"
        try:
            await asyncio.wait_for(sender.send(channel, delivery.payload), self._timeout)
        except DeliveryError as err:
            return str(err)
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as err:  # a bug must not stop the other deliveries
            log.exception("sending to channel %s failed unexpectedly", channel.name)
            return f"unexpected {type(err).__name__}"
        return None

    async def _save(self, uow: UnitOfWork, delivery: Delivery, error: str | None) -> None:
        now = self._clock()
        if error is None:
            SENT.labels("sent").inc()
            sent = replace(delivery, attempts=delivery.attempts + 1, state="sent", last_error=None)
            await uow.deliveries.save(sent, sent_at=now)
            return
        later = after_failure(
            delivery, error, now, max_attempts=self._max_attempts, first_pause=self._first_pause
        )
        SENT.labels("given-up" if later.state == "failed" else "retry").inc()
        log.warning(
            "notification %s to channel %s: attempt %d failed (%s)%s",
            delivery.notice_id, delivery.channel_id, later.attempts, error,
            "; given up" if later.state == "failed" else "; will try again",
        )  # fmt: skip
        await uow.deliveries.save(later)
