"""What every service's composition root does the same way: refuse to start without its
secrets, and tell readiness probes whether the database and NATS answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from as2bus.shared.bus.connection import Bus
from as2bus.shared.settings import ServiceSettings


class MissingSettingError(RuntimeError):
    pass


def required_secrets(settings: ServiceSettings, *, api_token: bool = True) -> tuple[str, str]:
    """(API token, master key), or a MissingSettingError naming every missing variable.

    A service without an admin API (inbound) passes ``api_token=False`` and gets "" for it.
    """
    token, key = settings.api_token, settings.master_key
    missing = [
        n for n, v in (("API_TOKEN", token if api_token else ""), ("MASTER_KEY", key)) if v is None
    ]
    if missing:
        names = ", ".join(f"AS2BUS_{n}" for n in missing)
        raise MissingSettingError(f"{names} must be set (as2bus keygen prints fresh values)")
    assert key is not None
    return (token.get_secret_value() if token else ""), key.get_secret_value()


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    return check


def bus_check(holder: dict[str, object]) -> Callable[[], Awaitable[None]]:
    """Ready once the lifespan has put a connected Bus under ``holder["bus"]``."""

    async def check() -> None:
        bus = holder.get("bus")
        if not isinstance(bus, Bus) or not bus.connected:
            raise ConnectionError("not connected to NATS")

    return check
