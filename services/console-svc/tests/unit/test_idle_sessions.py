"""A session left unused for AS2BUS_CONSOLE_SESSION_IDLE_MINUTES ends (sign in again); one in
use lasts until AS2BUS_CONSOLE_SESSION_HOURS, however busy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from as2bus.console import bootstrap
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

from .conftest import _console, client, sign_in


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Clock]:
    clock = Clock()
    monkeypatch.setattr(bootstrap, "utc_now", clock)
    app = await _console(tmp_path / "idle.db", AS2BUS_CONSOLE_SESSION_IDLE_MINUTES=30,
                         AS2BUS_CONSOLE_SESSION_HOURS=2)  # fmt: skip
    await wiring.of(app).accounts.create_user("ann@example.com", Role.VIEWER,
                                              "correct horse battery")  # fmt: skip
    return app, clock


async def test_a_session_left_idle_ends_and_one_in_use_lasts_to_its_expiry(
    clocked: tuple[Any, Clock],
) -> None:
    app, clock = clocked
    async with client(app) as busy, client(app) as idle:
        await sign_in(busy, "ann@example.com")
        await sign_in(idle, "ann@example.com")
        for _ in range(4):  # 4 times 25 minutes: each under the idle limit
            clock.now += timedelta(minutes=25)
            assert (await busy.get("/tracklog")).status_code == 200
        assert (await idle.get("/tracklog")).headers["location"] == "/login?next=/tracklog"
        clock.now += timedelta(minutes=25)  # 2 h 5 min after sign-in: expired, though in use
        assert (await busy.get("/tracklog")).headers["location"] == "/login?next=/tracklog"
