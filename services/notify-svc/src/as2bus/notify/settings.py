"""notify-svc settings: the shared chassis plus its own (``AS2BUS_NOTIFY_*``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator

from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    # Only the prefixed variable: a bare alias such as "consumer" could read something unrelated.
    return AliasChoices(f"AS2BUS_NOTIFY_{name.upper()}")


class NotifySettings(ServiceSettings):
    http_port: int = Field(default=8086, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/notify.db"
    consumer: str = Field(
        default="notify-svc", min_length=1, validation_alias=_env("consumer"),
        description="Durable consumer name on the events stream",
    )  # fmt: skip
    tick_seconds: float = Field(
        default=15.0, gt=0, le=600, validation_alias=_env("tick_seconds"),
        description="How often open incidents are looked at: a rule fires at most this late",
    )  # fmt: skip
    dispatch_seconds: float = Field(
        default=1.0, gt=0, le=60, validation_alias=_env("dispatch_seconds"),
        description="How often deliveries due for another attempt are looked for",
    )  # fmt: skip
    max_attempts: int = Field(
        default=12, ge=1, le=100, validation_alias=_env("max_attempts"),
        description="Attempts per delivery before it is given up (5 s, 10 s, 20 s ... 15 min "
        "apart: about 1.5 hours with the default)",
    )  # fmt: skip
    first_pause_seconds: float = Field(
        default=5.0, gt=0, le=600, validation_alias=_env("first_pause_seconds"),
        description="The pause after a delivery's first failed attempt; doubled each time",
    )  # fmt: skip
    send_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, validation_alias=_env("send_timeout_seconds"),
        description="How long one webhook POST or one e-mail may take",
    )  # fmt: skip
    rules_max_age_seconds: float = Field(
        default=60.0, gt=0, validation_alias=_env("rules_max_age_seconds"),
        description="Ask config-svc for the rules again after this long, even without a change",
    )  # fmt: skip
    console_url: str | None = Field(
        default=None, validation_alias=_env("console_url"),
        description="The console's public address (https://console.example.com): each notice "
        "links to its page there; unset, notices carry no link",
    )  # fmt: skip

    @field_validator("console_url")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError("give the console's address, e.g. https://console.example.com")
        return value.rstrip("/")
