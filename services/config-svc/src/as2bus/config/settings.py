"""config-svc settings: the shared chassis plus what only this service needs."""

from __future__ import annotations

from pydantic import Field

from as2bus.shared.settings import ServiceSettings


class ConfigSettings(ServiceSettings):
    http_port: int = Field(default=8081, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/config.db"
    relay_idle_seconds: float = Field(default=1.0, gt=0, description="Outbox poll interval")
