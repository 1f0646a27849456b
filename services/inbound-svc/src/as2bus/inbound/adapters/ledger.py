"""The received-message ledger: claims a (partner, Message-ID) before delivering it.

Every write is a single statement, so the service gives it autocommit sessions
(``shared.db.autocommit_session_factory``): no BEGIN/COMMIT round trips per message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.inbound.adapters.tables import received_messages
from as2bus.inbound.ports import Claim
from as2bus.shared.db import engine_of

#: One message's row; the columns to set are the other keys of the parameters. Constant
#: statements with parameters spare SQLAlchemy coercing values and deriving cache keys on
#: every call (see shared/outbox.add_to_outbox).
_ONE = (
    sa.update(received_messages)
    .where(received_messages.c.partner == sa.bindparam("key_partner"))
    .where(received_messages.c.message_id == sa.bindparam("key_id"))
)


class Ledger:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine_of(sessions)

    async def claim(
        self, partner: str, message_id: str, station: str, *, mdn_url: str | None = None
    ) -> tuple[Claim, datetime]:
        """Take a Message-ID for delivery, recording the URL its async MDN goes to (if any).
        Concurrent identical POSTs: one gets ``new``."""
        now = datetime.now(UTC)
        try:
            async with self._engine.begin() as session:
                claim = {
                    "partner": partner,
                    "message_id": message_id,
                    "station": station,
                    "status": "receiving",
                    "received_at": now,
                    "mdn_url": mdn_url,
                }
                await session.execute(sa.insert(received_messages), claim)
            return "new", now
        except sa.exc.IntegrityError:
            pass
        async with self._engine.connect() as session:
            row = (
                await session.execute(
                    sa.select(received_messages.c.status, received_messages.c.received_at).where(
                        received_messages.c.partner == partner,
                        received_messages.c.message_id == message_id,
                    )
                )
            ).one()
        first = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=UTC)
        return ("duplicate" if row.status == "delivered" else "retry"), first

    async def delivered(
        self,
        partner: str,
        message_id: str,
        document: str,
        event_seq: int | None = None,
        raw_document: str | None = None,
        *,
        attachments: int = 0,
    ) -> None:
        """MessageReceived is on the bus (at ``event_seq`` in the events stream); the message
        as received is kept as ``raw_document`` (None: not kept); ``attachments``: how many
        documents after the first are kept beside ``document`` (``domain.attachment_name``)."""
        await self._set(
            partner,
            message_id,
            status="delivered",
            document=document,
            event_seq=event_seq,
            raw_document=raw_document,
            attachments=attachments,
        )

    async def mdn_url(self, partner: str, message_id: str) -> str | None:
        """The async MDN URL recorded by the Message-ID's first claim; None: none (it asked
        for a synchronous MDN or none, or was received before URLs were recorded)."""
        async with self._engine.connect() as session:
            return (
                await session.execute(
                    sa.select(received_messages.c.mdn_url).where(
                        received_messages.c.partner == partner,
                        received_messages.c.message_id == message_id,
                    )
                )
            ).scalar()

    async def release(self, partner: str, message_id: str) -> None:
        """Delivery failed: forget the claim so the partner's resend is processed afresh."""
        async with self._engine.begin() as session:
            await session.execute(
                sa.delete(received_messages).where(
                    received_messages.c.partner == partner,
                    received_messages.c.message_id == message_id,
                )
            )

    async def _set(self, partner: str, message_id: str, **values: Any) -> None:
        async with self._engine.begin() as session:
            await session.execute(_ONE, {"key_partner": partner, "key_id": message_id, **values})
