"""What every service's composition root does the same way: refuse to start without its
secrets, and tell readiness probes whether the database (migrated) and NATS answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from as2bus.shared.bus.connection import Bus
from as2bus.shared.db import migration_lag
from as2bus.shared.logs import one_line
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.starting import STARTUP
from as2bus.shared.web import ApiTokens, Scope


class MissingSettingError(RuntimeError):
    pass


def required_secrets(settings: ServiceSettings, *, api_token: bool = True) -> tuple[str, str]:
    """(API token, master key), or a MissingSettingError naming every missing variable.

    A service without an admin API (inbound) passes ``api_token=False`` and gets "" for it.
    """
    token, key = settings.api_token, settings.master_key
    if api_token and token is None:
        api_tokens(settings)  # raises when no token of any scope is set
        token = SecretStr("")  # scoped tokens are set instead of the single admin one
    missing = [
        n for n, v in (("API_TOKEN", token if api_token else ""), ("MASTER_KEY", key)) if v is None
    ]
    if missing:
        names = ", ".join(f"AS2BUS_{n}" for n in missing)
        raise MissingSettingError(f"{names} must be set (as2bus keygen prints fresh values)")
    assert key is not None
    return (token.get_secret_value() if token else ""), key.get_secret_value()


def api_tokens(settings: ServiceSettings) -> ApiTokens:
    """The API tokens of every scope: AS2BUS_API_TOKENS, AS2BUS_API_TOKENS_DIR's files and
    AS2BUS_API_TOKEN (an admin token)."""
    by_scope = {k: [v.get_secret_value() for v in vs] for k, vs in settings.api_tokens.items()}
    unknown = sorted(set(by_scope) - {s.label for s in Scope})
    if unknown:
        raise MissingSettingError(
            f"AS2BUS_API_TOKENS names unknown scopes {unknown}: use read, operate and admin"
        )
    if settings.api_tokens_dir is not None:
        for scope in Scope:
            path = settings.api_tokens_dir / scope.label
            if path.is_file():
                lines = path.read_text().split()
                by_scope.setdefault(scope.label, []).extend(lines)
    admin = settings.api_token.get_secret_value() if settings.api_token else None
    try:
        tokens = ApiTokens.from_settings(by_scope, admin)
    except ValueError as err:  # a malformed digest: say which setting, never the value
        raise MissingSettingError(f"AS2BUS_API_TOKENS or AS2BUS_API_TOKENS_DIR: {err}") from None
    if not tokens:
        raise MissingSettingError(
            "AS2BUS_API_TOKENS (or AS2BUS_API_TOKENS_DIR, or AS2BUS_API_TOKEN for one admin "
            "token) must be set (as2bus keygen prints fresh values)"
        )
    return tokens


class NotMigratedError(RuntimeError):
    """The database answers, but without this version's migrations."""


def database_check(engine: AsyncEngine, migrations: str) -> Callable[[], Awaitable[None]]:
    """Ready while the database answers and has every migration of this version (the
    ``migrations`` scripts' head): where a Job migrates (AS2BUS_AUTO_MIGRATE=false), a replica
    started before it has run says so, instead of taking work it would fail on."""
    lag = migration_lag(migrations)

    async def check() -> None:
        async with engine.connect() as conn:
            missing = await conn.run_sync(lag)
        if missing:
            raise NotMigratedError(missing)

    return check


def loops_check(holder: dict[str, object]) -> Callable[[], Awaitable[None]]:
    """Ready while every background task the lifespan put under ``holder["loops"]`` still
    runs: a loop that ended leaves the service answering its probes while doing nothing
    (``make chaos`` once saw outbound-svc's send loop end so, every request then queued and
    never sent)."""

    async def check() -> None:
        loops = holder.get("loops")
        for task in loops if isinstance(loops, list) else ():
            if isinstance(task, asyncio.Task) and task.done():
                error = None if task.cancelled() else task.exception()
                ended = f"the {task.get_name()} loop has ended"
                raise RuntimeError(f"{ended}: {one_line(error)}" if error else ended)

    return check


def bus_check(holder: dict[str, object]) -> Callable[[], Awaitable[None]]:
    """Ready once the lifespan has put a connected Bus under ``holder["bus"]``. Until then the
    service is starting, and says what its start waits for ("starting: waiting for NATS at
    nats:4222 (attempt 6): ConnectionRefusedError: ...")."""

    async def check() -> None:
        bus = holder.get("bus")
        if not isinstance(bus, Bus):
            raise ConnectionError(STARTUP.sentence)
        if not bus.connected:
            raise ConnectionError("not connected to NATS")

    return check
