"""What the console shows of a partner's limits: sends in progress and tokens available now
(SQLite on a temporary file)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from as2bus.outbound.adapters.claims import Claims
from as2bus.outbound.adapters.tables import messages, metadata, partner_limits
from as2bus.shared.db import create_engine, session_factory

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


async def test_in_flight_and_tokens_refilled_since_the_last_claim(tmp_path: Path) -> None:
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
                partner="ACME", tokens=0.5, refilled_at=NOW - timedelta(seconds=1)
            )
        )
    claims = Claims(sessions, timedelta(minutes=5))
    assert await claims.usage("ACME", 2.0, NOW) == (2, 2.0)  # 0.5 + 1 s x 2/s, capped at 2
    assert await claims.usage("ACME", 0.25, NOW) == (2, 0.75)
    assert await claims.usage("ACME", None, NOW) == (2, None)
    assert await claims.usage("OTHER", 3.0, NOW) == (0, 3.0)  # never claimed: a full bucket
    await engine.dispose()
