"""The rules and channels, asked of config-svc and kept until one of them changes.

config-svc answers on ``as2.rpc.config.notification-setup`` with every rule and channel, the
channels' secrets still sealed (context ``notification-channel:<id>:secrets``); they are
opened here with the master key. Any ``as2.evt.config.notification-*`` event drops the copy
(and says so to ``when_changed``'s callback: a new rule is looked at now, not at the next
tick), and so does its age (``max_age``), in case such an event was missed while NATS was away.
When config-svc does not answer, the last copy is used until it does.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from as2bus.contracts.notifications import (
    SETUP_SUBJECT,
    NotificationRuleState,
    NotificationSetupReply,
    NotificationSetupRequest,
    SealedChannel,
    channel_secrets_context,
)
from as2bus.notify.domain.incidents import Rule
from as2bus.notify.ports import Channel, Setup, SetupUnavailableError
from as2bus.shared.crypto import SecretBox, SecretDecryptError

log = logging.getLogger(__name__)
CHANGES = ("as2.evt.config.notification-channel.>", "as2.evt.config.notification-rule.>")


def rule_of(state: NotificationRuleState) -> Rule:
    return Rule(
        id=str(state.id), name=state.name, kind=state.kind, minutes=state.minutes,
        repeat_minutes=state.repeat_minutes, enabled=state.enabled,
        channel_ids=tuple(str(c) for c in state.channel_ids),
    )  # fmt: skip


class ConfigSetup:
    def __init__(
        self, client: Client, box: SecretBox, *, timeout: float = 5.0, max_age: float = 60.0
    ) -> None:
        self._client = client
        self._box = box
        self._timeout = timeout
        self._max_age = max_age
        self._copy: Setup | None = None
        self._fetched_at = 0.0
        self._subscriptions: list[Any] = []
        self._on_change: Callable[[], None] = lambda: None

    def when_changed(self, callback: Callable[[], None]) -> None:
        self._on_change = callback

    async def start(self) -> None:
        for subject in CHANGES:
            self._subscriptions.append(await self._client.subscribe(subject, cb=self._changed))

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _changed(self, _: Msg) -> None:
        self._fetched_at = 0.0  # the next use asks again
        self._on_change()

    async def current(self, *, fresh: bool = False) -> Setup:
        stale = time.monotonic() - self._fetched_at > self._max_age
        if self._copy is not None and not (fresh or stale):
            return self._copy
        try:
            self._copy = await self._ask()
            self._fetched_at = time.monotonic()
        except SetupUnavailableError as err:
            if self._copy is None or fresh:
                raise
            log.warning("using the notification rules known before: %s", err)
        return self._copy

    async def _ask(self) -> Setup:
        request = NotificationSetupRequest().model_dump_json().encode()
        try:
            msg = await self._client.request(SETUP_SUBJECT, request, self._timeout)
            reply = NotificationSetupReply.model_validate_json(msg.data)
        except (nats.errors.Error, TimeoutError) as err:
            raise SetupUnavailableError(
                f"config-svc did not answer for the notification rules ({type(err).__name__})"
            ) from None
        except ValidationError:
            raise SetupUnavailableError(
                "config-svc answered the notification rules request with something unexpected"
            ) from None
        channels = {str(c.channel.id): self._open(c) for c in reply.channels}
        return Setup(rules=[rule_of(r) for r in reply.rules], channels=channels)

    def _open(self, sealed: SealedChannel) -> Channel:
        state = sealed.channel
        secrets: dict[str, Any] = {}
        if sealed.sealed:
            try:
                secrets = json.loads(
                    self._box.open(sealed.sealed, channel_secrets_context(state.id))
                )
            except SecretDecryptError:
                raise SetupUnavailableError(
                    f"cannot open the secrets of notification channel {state.name}: is "
                    "AS2BUS_MASTER_KEY the same as config-svc's?"
                ) from None
        target = state.target.model_dump(mode="json")
        return Channel(str(state.id), state.name, state.enabled, target, secrets)
