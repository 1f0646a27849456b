"""What the console shows of a partner's limits: sends in progress and tokens available now,
one partner's or every partner's over the API (SQLite on a temporary file)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from as2bus.outbound.adapters.claims import Claims
from as2bus.outbound.adapters.tables import messages, metadata, partner_limits
from as2bus.outbound.entrypoints import api
from as2bus.outbound.wiring import Components, wiring
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.db import create_engine, session_factory
from as2bus.shared.web import ApiTokens, Scope, include_scoped
from as2bus.testing.config_states import partner_state

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
TOKEN = "outbound-read-token-0123456789"


async def acme_sending_two(tmp_path: Path, refilled_at: datetime = NOW) -> AsyncEngine:
    """ACME: two sends in progress, one queued, one delivered; half a token a second before
    ``refilled_at``."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    rows = [
        {"id": uuid.uuid4(), "request_id": f"r{i}", "message_id": f"<m{i}@x>", "station": "A",
         "partner": "ACME", "content_type": "text/plain", "subject": "s", "status": status,
         "attempts": 1, "signed_mdn": False, "created_at": NOW, "updated_at": NOW}
        for i, status in enumerate(["sending", "sending", "queued", "delivered"])
    ]  # fmt: skip
    async with sessions() as session, session.begin():
        await session.execute(sa.insert(messages), rows)
        await session.execute(
            sa.insert(partner_limits).values(
                partner="ACME", tokens=0.5, refilled_at=refilled_at - timedelta(seconds=1)
            )
        )
    return engine


async def test_in_flight_and_tokens_refilled_since_the_last_claim(tmp_path: Path) -> None:
    engine = await acme_sending_two(tmp_path)
    claims = Claims(session_factory(engine), timedelta(minutes=5))
    assert await claims.usage("ACME", 2.0, NOW) == (2, 2.0)  # 0.5 + 1 s x 2/s, capped at 2
    assert await claims.usage("ACME", 0.25, NOW) == (2, 0.75)
    assert await claims.usage("ACME", None, NOW) == (2, None)
    assert await claims.usage("OTHER", 3.0, NOW) == (0, 3.0)  # never claimed: a full bucket
    await engine.dispose()


async def test_every_partners_limits_in_one_answer_the_same_as_each_alone(tmp_path: Path) -> None:
    engine = await acme_sending_two(tmp_path, refilled_at=datetime(2000, 1, 1, tzinfo=UTC))
    replica = ConfigReplica()
    for partner in (partner_state("GLOBEX"), partner_state("ACME", rate_limit_per_second=2.0,
                    max_concurrency=5), partner_state("limits")):  # fmt: skip
        replica.partners[partner.id] = partner
    app = FastAPI()
    include_scoped(app, api.routers, ApiTokens({Scope.READ: [TOKEN]}))
    claims = Claims(session_factory(engine), timedelta(minutes=5))
    unused: Any = None  # the limits routes use the replica and the claims only
    wiring.install(app, Components(unused, unused, replica, claims, unused, unused, unused))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://o", headers=headers) as o:
        answer = await o.get("/api/v1/partners/limits")
        assert answer.status_code == 200, answer.text
        every = answer.json()
        assert [p["as2_id"] for p in every] == ["ACME", "GLOBEX", "limits"]
        # A full bucket of 2: the last claim is long past (and a moment later it is still full).
        assert every[0] == {"as2_id": "ACME", "in_flight": 2, "max_concurrency": 5,
                            "rate_limit_per_second": 2.0, "tokens_available": 2.0}  # fmt: skip
        for partner in every:
            alone = await o.get(f"/api/v1/partners/{partner['as2_id']}/limits")
            assert {"as2_id": partner["as2_id"], **alone.json()} == partner
        assert (await o.get("/api/v1/partners/NOBODY/limits")).status_code == 404
        anonymous = await o.get("/api/v1/partners/limits", headers={"Authorization": ""})
        assert anonymous.status_code == 401  # a read-scope route like its neighbour
    await engine.dispose()
