"""The signatures replay protection remembers (``ports.SeenSignatures``), in the service's
database: one row per (partner, signature key), its unique key deciding between copies posted
at once on several replicas. Every write is one statement (autocommit sessions, as the
ledger's)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.inbound.adapters.tables import seen_signatures
from as2bus.inbound.ports import SeenSignature
from as2bus.shared.db import engine_of

_T = seen_signatures


def _one(partner: str, key: str) -> sa.ColumnElement[bool]:
    return (_T.c.partner == partner) & (_T.c.signature_key == key)


#: The hold of one message on one signature. Constant statements with parameters, as the
#: ledger's: SQLAlchemy neither coerces the values into them nor derives a new cache key each
#: time (about 0.3 ms per statement otherwise; two of these run for every message received).
_HELD_BY = (
    (_T.c.partner == sa.bindparam("key_partner"))
    & (_T.c.signature_key == sa.bindparam("key_signature"))
    & (_T.c.message_id == sa.bindparam("key_message"))
)
_ACCEPT = sa.update(_T).where(_HELD_BY).values(status="accepted", accepted_at=sa.bindparam("at"))
_RELEASE = sa.delete(_T).where(_HELD_BY)


def _held_by(partner: str, key: str, message_id: str) -> dict[str, str]:
    return {"key_partner": partner, "key_signature": key, "key_message": message_id}


class SeenSignatureTable:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine_of(sessions)

    async def claim(
        self,
        partner: str,
        key: str,
        message_id: str,
        *,
        signed_at: datetime | None,
        now: datetime,
        kept_until: datetime,
    ) -> SeenSignature:
        row = {
            "partner": partner,
            "signature_key": key,
            "message_id": message_id,
            "status": "receiving",
            "signed_at": signed_at,
            "claimed_at": now,
            "kept_until": kept_until,
        }
        try:
            async with self._engine.begin() as session:
                await session.execute(sa.insert(_T), row)
            return SeenSignature("new", message_id, now)
        except sa.exc.IntegrityError:
            pass  # held already: by whom?
        async with self._engine.connect() as session:
            held = (
                await session.execute(
                    sa.select(_T.c.message_id, _T.c.status, _T.c.claimed_at).where(
                        _one(partner, key)
                    )
                )
            ).one()
        at = held.claimed_at if held.claimed_at.tzinfo else held.claimed_at.replace(tzinfo=UTC)
        if held.message_id == message_id:  # its own hold: a resend after a crash
            return SeenSignature("new", message_id, at)
        return SeenSignature(
            "accepted" if held.status == "accepted" else "pending", held.message_id, at
        )

    async def accepted(self, partner: str, key: str, message_id: str, now: datetime) -> None:
        async with self._engine.begin() as session:
            await session.execute(_ACCEPT, {**_held_by(partner, key, message_id), "at": now})

    async def release(self, partner: str, key: str, message_id: str) -> None:
        async with self._engine.begin() as session:
            await session.execute(_RELEASE, _held_by(partner, key, message_id))

    async def purge(self, now: datetime) -> int:
        async with self._engine.begin() as session:
            result = await session.execute(sa.delete(_T).where(_T.c.kept_until < now))
        return int(result.rowcount or 0)
