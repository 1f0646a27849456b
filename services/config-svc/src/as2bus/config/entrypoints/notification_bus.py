"""Notification channels and rules for notify-svc (request-reply, a queue group across
replicas). The channels' secrets go out sealed as stored: only a holder of the master key can
open them, and NATS permissions restrict who may ask (as2bus.contracts.notifications)."""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker

from as2bus.config.notifications import NotificationConfig
from as2bus.contracts.notifications import (
    SETUP_SUBJECT,
    NotificationSetupReply,
    NotificationSetupRequest,
)


def register_notification_setup(
    broker: NatsBroker, service: Callable[[], NotificationConfig]
) -> None:
    @broker.subscriber(
        SETUP_SUBJECT,
        queue="config-svc",
        title="NotificationSetup:Responder",
        description="Answers notify-svc with every notification rule and channel, secrets sealed.",
    )
    async def notification_setup(_: NotificationSetupRequest) -> NotificationSetupReply:
        return await service().setup()
