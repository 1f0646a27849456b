"""Notification contracts, v1: the channels and rules config-svc keeps, and how notify-svc
gets them.

A **channel** is where a notification goes: a webhook (an HTTPS POST of JSON, signed with
HMAC-SHA256) or e-mail (SMTP). A **rule** says which trouble is worth a person's attention
(``kind``), how long it must last before it is (``minutes``), how often a still-open incident
may be summarised again (``repeat_minutes``) and which channels hear of it.

Events carry the full non-secret state, as the other config events do; the webhook's HMAC
secret and the SMTP password never appear in them: only ``secret_set`` / ``password_set``.
notify-svc asks config-svc for the channels with their secrets still sealed (AES-GCM under
the master key, context ``notification-channel:<id>:secrets``) over core NATS request-reply
on ``as2.rpc.config.notification-setup``; deployments let only config-svc answer and only
notify-svc ask.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from as2bus.contracts.envelope import Contract, Event, register
from as2bus.contracts.subjects import event_subject

SETUP_SUBJECT = "as2.rpc.config.notification-setup"

#: What a rule watches for.
#: partner-unreachable: a partner's sends fail or are retried, with no delivery, for
#: ``minutes``; resolved by its next delivered message.
#: message-failed: messages to a partner failed for good; resolved by its next delivery.
#: mdn-overdue: messages failed because the partner's asynchronous MDN did not come in time
#: (failure code ``mdn-deadline``); resolved by its next delivery.
#: certificate-expiring: a certificate is about to expire or has expired; resolved when a new
#: certificate is imported or rotated in under the same alias.
RuleKind = Literal["partner-unreachable", "message-failed", "mdn-overdue", "certificate-expiring"]
RULE_KINDS: tuple[RuleKind, ...] = (
    "partner-unreachable",
    "message-failed",
    "mdn-overdue",
    "certificate-expiring",
)
#: How an e-mail channel talks to its SMTP server: STARTTLS on a plain port (587, the
#: default), TLS from the first byte (465), or no TLS at all (a local relay only: no
#: credentials may be given then).
SmtpSecurity = Literal["starttls", "tls", "none"]


class WebhookTarget(Contract):
    type: Literal["webhook"] = "webhook"
    url: str = Field(description="Where the JSON is POSTed (https:// outside a test)")
    secret_set: bool = Field(description="Whether an HMAC secret is stored (always, once valid)")


class EmailTarget(Contract):
    type: Literal["email"] = "email"
    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password_set: bool = False
    sender: str = Field(description="The From address")
    recipients: list[str] = Field(description="The To addresses")
    ca_bundle_pem: str | None = Field(
        default=None,
        description="CA certificates (PEM) to trust for the SMTP server's certificate instead "
        "of the system's (a private CA)",
    )


ChannelTarget = Annotated[WebhookTarget | EmailTarget, Field(discriminator="type")]


class NotificationChannelState(Contract):
    id: uuid.UUID
    revision: int
    name: str
    enabled: bool = True
    target: ChannelTarget
    created_at: datetime
    updated_at: datetime


class NotificationRuleState(Contract):
    id: uuid.UUID
    revision: int
    name: str
    kind: RuleKind
    minutes: float = Field(
        description="How long the trouble must last before anyone is told (0: at once); "
        "fractions are allowed"
    )
    repeat_minutes: float = Field(
        description="At most one summary of an open incident per this many minutes"
    )
    channel_ids: list[uuid.UUID]
    enabled: bool = True
    created_at: datetime
    updated_at: datetime


class DeletedNotificationEntity(Contract):
    id: uuid.UUID
    revision: int
    name: str


@register
class NotificationChannelCreated(Event):
    subject = event_subject("config", "notification-channel", "created")
    summary = "A notification channel (webhook or e-mail) was created; no secret in it."
    data: NotificationChannelState


@register
class NotificationChannelUpdated(Event):
    subject = event_subject("config", "notification-channel", "updated")
    summary = "A notification channel changed; carries its full non-secret state."
    data: NotificationChannelState


@register
class NotificationChannelDeleted(Event):
    subject = event_subject("config", "notification-channel", "deleted")
    summary = "A notification channel was deleted."
    data: DeletedNotificationEntity


@register
class NotificationRuleCreated(Event):
    subject = event_subject("config", "notification-rule", "created")
    summary = "A notification rule was created; carries its full state."
    data: NotificationRuleState


@register
class NotificationRuleUpdated(Event):
    subject = event_subject("config", "notification-rule", "updated")
    summary = "A notification rule changed; carries its full state."
    data: NotificationRuleState


@register
class NotificationRuleDeleted(Event):
    subject = event_subject("config", "notification-rule", "deleted")
    summary = "A notification rule was deleted."
    data: DeletedNotificationEntity


class SealedChannel(Contract):
    channel: NotificationChannelState
    #: The channel's secrets as stored: JSON sealed with the master key, or None.
    sealed: str | None = None


class NotificationSetupRequest(Contract):
    pass


class NotificationSetupReply(Contract):
    channels: list[SealedChannel]
    rules: list[NotificationRuleState]


def channel_secrets_context(channel_id: uuid.UUID) -> str:
    """The associated data config-svc seals a channel's secrets with."""
    return f"notification-channel:{channel_id}:secrets"
