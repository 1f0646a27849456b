"""Certificates, keystores and expiry notices in SQL (SQLite or PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.cert.adapters.tables import certificates, expiry_notices, keystores, outbox
from as2bus.cert.domain import Certificate
from as2bus.contracts import Event
from as2bus.shared.audit import audited
from as2bus.shared.outbox import add_to_outbox

_CERT_FIELDS = [f.name for f in fields(Certificate)]
_TIMES = ("not_before", "not_after", "activation_at", "retirement_at", "created_at")


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    # SQLite hands back naive datetimes; everything we store is UTC.
    for name in _TIMES:
        value = row.get(name)
        if isinstance(value, datetime) and value.tzinfo is None:
            row[name] = value.replace(tzinfo=UTC)
    return row


def _in_utc(values: dict[str, Any]) -> dict[str, Any]:
    """Times as UTC before they are stored: SQLite keeps a time's wall clock and drops its
    offset, so a switch at 10:00+02:00 (an API caller may give any offset) would read back as
    10:00 UTC."""
    return {
        k: v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo is not None else v
        for k, v in values.items()
    }


class CertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def certificates(
        self, *, alias: str | None = None, kind: str | None = None
    ) -> list[Certificate]:
        query = sa.select(certificates).order_by(
            certificates.c.alias, certificates.c.kind, certificates.c.activation_at
        )
        if alias is not None:
            query = query.where(certificates.c.alias == alias)
        if kind is not None:
            query = query.where(certificates.c.kind == kind)
        rows = (await self.session.execute(query)).mappings().all()
        return [Certificate(**_aware({k: r[k] for k in _CERT_FIELDS})) for r in rows]

    async def certificate(self, cert_id: uuid.UUID) -> Certificate | None:
        row = (
            (
                await self.session.execute(
                    sa.select(certificates).where(certificates.c.id == cert_id)
                )
            )
            .mappings()
            .first()
        )
        return Certificate(**_aware({k: row[k] for k in _CERT_FIELDS})) if row else None

    async def add_certificate(self, cert: Certificate) -> None:
        await self.session.execute(sa.insert(certificates).values(_in_utc(asdict(cert))))

    async def save_schedule(self, cert: Certificate) -> None:
        times = {"activation_at": cert.activation_at, "retirement_at": cert.retirement_at}
        await self.session.execute(
            sa.update(certificates).where(certificates.c.id == cert.id).values(_in_utc(times))
        )

    async def delete_certificate(self, cert_id: uuid.UUID) -> None:
        """The certificate and the record of the expiry warnings sent for it."""
        await self.session.execute(
            sa.delete(expiry_notices).where(expiry_notices.c.certificate_id == cert_id)
        )
        await self.session.execute(sa.delete(certificates).where(certificates.c.id == cert_id))

    async def keystores(self) -> list[dict[str, Any]]:
        query = sa.select(keystores).order_by(
            keystores.c.station_as2_id, keystores.c.partner_as2_id
        )
        return [_aware(dict(r)) for r in (await self.session.execute(query)).mappings().all()]

    async def keystore(self, keystore_id: uuid.UUID) -> dict[str, Any] | None:
        query = sa.select(keystores).where(keystores.c.id == keystore_id)
        row = (await self.session.execute(query)).mappings().first()
        return _aware(dict(row)) if row else None

    async def keystore_for(self, station_as2_id: str, partner_as2_id: str) -> dict[str, Any] | None:
        query = sa.select(keystores).where(
            keystores.c.station_as2_id == station_as2_id,
            keystores.c.partner_as2_id == partner_as2_id,
        )
        row = (await self.session.execute(query)).mappings().first()
        return _aware(dict(row)) if row else None

    async def add_keystore(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(keystores).values(values))

    async def set_keystore_alias(self, keystore_id: uuid.UUID, private_key_alias: str) -> None:
        await self.session.execute(
            sa.update(keystores)
            .where(keystores.c.id == keystore_id)
            .values(private_key_alias=private_key_alias)
        )

    async def notified_thresholds(self, cert_id: uuid.UUID) -> set[int]:
        query = sa.select(expiry_notices.c.threshold_days).where(
            expiry_notices.c.certificate_id == cert_id
        )
        return set((await self.session.scalars(query)).all())

    async def record_notice(self, cert_id: uuid.UUID, threshold: int, at: datetime) -> None:
        await self.session.execute(
            sa.insert(expiry_notices).values(
                certificate_id=cert_id, threshold_days=threshold, notified_at=at
            )
        )

    async def add_to_outbox(self, event: Event) -> None:
        # Made through the API: the event says who (the facts it carries say what).
        await add_to_outbox(self.session, outbox, audited(event))
