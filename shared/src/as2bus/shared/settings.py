"""Settings every service shares, read from the environment (prefix ``AS2BUS_``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamSettings(BaseSettings):
    """Retention of the events stream. Zero means 'no limit' for each figure."""

    model_config = SettingsConfigDict(env_prefix="AS2BUS_EVENTS_", extra="ignore")

    max_age_days: float = Field(default=0, ge=0, description="Drop events older than this.")
    max_bytes: int = Field(default=0, ge=0, description="Cap the events stream's size.")
    max_msgs: int = Field(default=0, ge=0, description="Cap the number of events kept.")
    replicas: int = Field(default=1, ge=1, le=5, description="JetStream replicas (3 in a cluster).")


class ServiceSettings(BaseSettings):
    """The chassis settings. Each service subclasses this and adds its own fields."""

    model_config = SettingsConfigDict(env_prefix="AS2BUS_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "sqlite+aiosqlite:///var/as2bus.db"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (the Ingress controller) whose X-Forwarded-For and "
        'X-Forwarded-Proto are believed, JSON: addresses or networks (["10.244.0.0/16"]). '
        "Empty: none, the connection's own address is the client's.",
    )
    log_level: str = "INFO"
    log_json: bool = False
    api_token: SecretStr | None = Field(
        default=None, description="One admin-scope API token (kept for compatibility)."
    )
    api_tokens: dict[str, list[SecretStr]] = Field(
        default_factory=dict,
        description='API tokens per scope, JSON: {"read": [...], "operate": [...], "admin": [...]}'
        " (an entry may be sha256:<hex> of the token).",
    )
    api_tokens_dir: Path | None = Field(
        default=None,
        description="A directory with a file per scope (read, operate, admin), one token or "
        "sha256:<hex> a line: mounted Secrets.",
    )
    master_key: SecretStr | None = None
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="PostgreSQL connections each replica keeps open once it needed them (a "
        "burst may open up to 10 more for a moment); below the concurrent work, connections "
        "are opened and closed per transaction. SQLite always uses one.",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Apply database migrations at start. Set false where a Job migrates.",
    )
    data_dir: Path = Path("var")
    events: StreamSettings = Field(default_factory=StreamSettings)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (write e.g. 10.244.0.0/16)"
                ) from None
        return [entry.strip() for entry in value]
