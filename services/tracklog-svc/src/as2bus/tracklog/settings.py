"""tracklog-svc settings: the shared chassis plus the consumer's (``AS2BUS_TRACKLOG_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    # Only the prefixed variable: a bare alias such as "consumer" could read something unrelated.
    return AliasChoices(f"AS2BUS_TRACKLOG_{name.upper()}")


class TracklogSettings(ServiceSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/tracklog.db"
    consumer: str = Field(
        default="tracklog-svc",
        min_length=1,
        validation_alias=_env("consumer"),
        description="Durable consumer name. A rebuild into a new database takes a new name, so "
        "the running service keeps its own position.",
    )
    batch_size: int = Field(
        default=256,
        ge=1,
        le=5000,
        validation_alias=_env("batch_size"),
        description="Events applied per transaction",
    )
    linger_seconds: float = Field(
        default=0.1,
        ge=0,
        le=5,
        validation_alias=_env("linger_seconds"),
        description="When caught up, wait this long for more events before the next batch: "
        "one transaction for the events of many messages instead of one per event (the "
        "projection's CPU competes with the gateway's); the dashboard lags by at most this",
    )
    fetch_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        validation_alias=_env("fetch_seconds"),
        description="How long one fetch waits for events when there are none: the consumer's "
        "idle poll (an empty fetch is normal idling, never an error); after a nats-server restart "
        "the consumer resumes within about this long",
    )
    shutdown_grace_seconds: int = Field(
        default=3,
        ge=1,
        validation_alias=_env("shutdown_grace_seconds"),
        description="How long open live streams (SSE) may hold up a shutdown",
    )
