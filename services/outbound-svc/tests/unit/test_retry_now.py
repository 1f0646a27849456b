"""Once the cause is fixed (a partner back up, its URL corrected), its retrying messages can
be sent now instead of at their next attempt, up to an hour later (SQLite on a temporary
file, the API as the console calls it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from as2bus.outbound.adapters.claims import Claims
from as2bus.outbound.adapters.tables import messages, metadata
from as2bus.outbound.entrypoints import api
from as2bus.outbound.wiring import Components, wiring
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.db import create_engine, session_factory
from as2bus.shared.web import ApiTokens, Scope, include_scoped
from as2bus.testing.config_states import partner_state

TOKEN = "outbound-operate-token-0123456789"
LATER = datetime.now(UTC) + timedelta(minutes=40)


async def test_a_partners_retrying_messages_are_due_at_once_and_the_senders_woken(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    rows = [
        {"id": uuid.uuid4(), "request_id": f"r{i}", "message_id": f"<m{i}@x>", "station": "A",
         "partner": partner, "content_type": "text/plain", "subject": "s", "status": status,
         "attempts": 2, "signed_mdn": False, "created_at": LATER, "updated_at": LATER,
         "next_attempt_at": LATER}
        for i, (partner, status) in enumerate([("ACME", "retrying"), ("ACME", "retrying"),
                                               ("ACME", "queued"), ("ACME", "failed"),
                                               ("GLOBEX", "retrying")])
    ]  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(sa.insert(messages), rows)
    replica = ConfigReplica()
    for partner in (partner_state("ACME"), partner_state("GLOBEX")):
        replica.partners[partner.id] = partner
    woken: list[bool] = []
    claims = Claims(session_factory(engine), timedelta(minutes=5))
    unused: Any = None
    wiring.install(app := FastAPI(), Components(unused, unused, replica, claims, unused, unused,
                                                lambda: woken.append(True)))  # fmt: skip
    include_scoped(app, api.routers, ApiTokens({Scope.OPERATE: [TOKEN]}))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://o", headers=headers) as o:
        first = await o.post("/api/v1/partners/ACME/retry-now")
        again = await o.post("/api/v1/partners/ACME/retry-now")  # nothing left to hurry
        unknown = await o.post("/api/v1/partners/NOBODY/retry-now")
    assert (first.status_code, first.json()) == (200, {"retried": 2})
    assert again.json() == {"retried": 0}
    assert unknown.status_code == 404
    assert woken == [True]  # once: only when something became due
    due = await Claims(session_factory(engine), timedelta(minutes=5)).due_partners(
        datetime.now(UTC)
    )
    assert due == ["ACME"]  # GLOBEX's retrying message waits for its own attempt
    async with engine.connect() as conn:
        attempts = (await conn.execute(sa.select(messages.c.attempts))).scalars().all()
    assert set(attempts) == {2}  # the attempts count as before
    await engine.dispose()
