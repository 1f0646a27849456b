"""What the admin API accepts for notification channels and rules. Responses are the
contracts' state models, which hold no secret: the webhook's HMAC secret and the SMTP password
are write-only ``SecretStr`` here and sealed in the database."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from as2bus.contracts.notifications import RuleKind, SmtpSecurity

_STRICT = ConfigDict(extra="forbid")
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
#: A week: longer than any reasonable wait for a person.
MAX_MINUTES = 7 * 24 * 60
#: Minutes a rule waits before it tells anyone, when not given: a partner down for a quarter
#: of an hour is worth a call; a failed message or an expiring certificate at once.
DEFAULT_MINUTES: dict[str, float] = {"partner-unreachable": 15.0}
DEFAULT_REPEAT_MINUTES = 60.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookIn(BaseModel):
    model_config = _STRICT
    type: Literal["webhook"]
    url: str = Field(max_length=2000, description="https://, or http:// to this machine only")
    secret: SecretStr | None = Field(
        default=None,
        description="The HMAC-SHA256 key the receiver verifies X-As2bus-Signature with (at "
        "least 16 characters); required when creating, kept when left out of an update",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("must be https:// (http:// only to this machine: 127.0.0.1)")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


class EmailIn(BaseModel):
    model_config = _STRICT
    type: Literal["email"]
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = "starttls"
    username: str | None = Field(default=None, min_length=1, max_length=255)
    password: SecretStr | None = Field(
        default=None, description="Kept when left out of an update (with the same username)"
    )
    sender: str = Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)]] = Field(
        min_length=1, max_length=50
    )
    ca_bundle_pem: str | None = Field(default=None, max_length=200_000)

    @field_validator("ca_bundle_pem")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value is not None and "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("must hold PEM certificates (-----BEGIN CERTIFICATE-----)")
        return value

    @model_validator(mode="after")
    def _no_credentials_in_clear(self) -> EmailIn:
        if self.security == "none" and (self.username or self.password):
            raise ValueError(
                "SMTP credentials are sent only over TLS: use security starttls or tls, or "
                "give no username and password (a local relay)"
            )
        return self


TargetIn = Annotated[WebhookIn | EmailIn, Field(discriminator="type")]


class ChannelCreate(BaseModel):
    """A webhook without a secret is refused by the use case (``target.secret``): a rule of
    the whole model here would name no field."""

    model_config = _STRICT
    name: Name
    enabled: bool = True
    target: TargetIn


class ChannelUpdate(BaseModel):
    """Fields left out are kept; ``target`` replaces the whole target, but a secret left out
    of it is kept while the type (and for e-mail the username) stays the same."""

    model_config = _STRICT
    name: Name | None = None
    enabled: bool | None = None
    target: TargetIn | None = None


Minutes = Annotated[float, Field(ge=0, le=MAX_MINUTES)]


class RuleCreate(BaseModel):
    model_config = _STRICT
    name: Name
    kind: RuleKind
    minutes: Minutes | None = Field(
        default=None, description="Default: 15 for partner-unreachable, 0 (at once) otherwise"
    )
    repeat_minutes: Annotated[float, Field(ge=0.01, le=MAX_MINUTES)] = DEFAULT_REPEAT_MINUTES
    channel_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    enabled: bool = True

    def resolved(self) -> dict[str, Any]:
        fields = self.model_dump(mode="json")
        if fields["minutes"] is None:
            fields["minutes"] = DEFAULT_MINUTES.get(self.kind, 0.0)
        return fields


class RuleUpdate(BaseModel):
    model_config = _STRICT
    name: Name | None = None
    kind: RuleKind | None = None
    minutes: Minutes | None = None
    repeat_minutes: Annotated[float, Field(ge=0.01, le=MAX_MINUTES)] | None = None
    channel_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None
