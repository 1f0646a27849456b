"""Stations, partners, partnerships and the outbox in SQL (SQLite or PostgreSQL).

The repository speaks the shared state models; rows are an implementation detail.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.config.adapters.tables import outbox, partners, partnerships, stations
from as2bus.contracts import Event, PartnershipState, PartnerState, StationState
from as2bus.shared.crypto import SecretBox
from as2bus.shared.outbox import add_to_outbox

_ROW_FIELDS = {"id", "revision", "created_at", "updated_at", "as2_id", "enabled"}


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row_values(state: StationState | PartnerState) -> dict[str, Any]:
    return {
        "id": state.id,
        "revision": state.revision,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "as2_id": state.as2_id,
        "settings": state.model_dump(mode="json", exclude=_ROW_FIELDS),
    }


def _state_fields(row: sa.Row[Any]) -> dict[str, Any]:
    values = dict(row._mapping)
    return {
        **values.pop("settings"),
        **{k: v for k, v in values.items() if k in _ROW_FIELDS},
        "created_at": _aware(values["created_at"]),
        "updated_at": _aware(values["updated_at"]),
    }


class ConfigRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self.session = session
        self._box = box

    # --- stations -------------------------------------------------------------------------
    async def list_stations(self, as2_id: str | None = None) -> list[StationState]:
        query = sa.select(stations).order_by(stations.c.as2_id)
        if as2_id is not None:
            query = query.where(stations.c.as2_id == as2_id)
        rows = (await self.session.execute(query)).all()
        return [StationState.model_validate(_state_fields(r)) for r in rows]

    async def station_as2_ids_ignoring_case(self, as2_id: str) -> dict[uuid.UUID, str]:
        return await self._as2_ids_ignoring_case(stations, as2_id)

    async def get_station(self, station_id: uuid.UUID) -> StationState | None:
        row = (
            await self.session.execute(sa.select(stations).where(stations.c.id == station_id))
        ).first()
        return StationState.model_validate(_state_fields(row)) if row else None

    async def add_station(self, state: StationState) -> None:
        await self.session.execute(sa.insert(stations).values(_row_values(state)))

    async def save_station(self, state: StationState) -> None:
        await self.session.execute(
            sa.update(stations).where(stations.c.id == state.id).values(_row_values(state))
        )

    async def delete_station(self, station_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(stations).where(stations.c.id == station_id))

    # --- partners -------------------------------------------------------------------------
    async def list_partners(self, as2_id: str | None = None) -> list[PartnerState]:
        query = sa.select(partners).order_by(partners.c.as2_id)
        if as2_id is not None:
            query = query.where(partners.c.as2_id == as2_id)
        rows = (await self.session.execute(query)).all()
        return [PartnerState.model_validate(_state_fields(r)) for r in rows]

    async def partner_as2_ids_ignoring_case(self, as2_id: str) -> dict[uuid.UUID, str]:
        return await self._as2_ids_ignoring_case(partners, as2_id)

    async def _as2_ids_ignoring_case(self, table: sa.Table, as2_id: str) -> dict[uuid.UUID, str]:
        """id -> AS2 ID of the rows whose AS2 ID equals ``as2_id`` ignoring case (AS2 IDs are
        ASCII, so SQL's lower() and Python's agree on both databases)."""
        query = sa.select(table.c.id, table.c.as2_id).where(
            sa.func.lower(table.c.as2_id) == as2_id.lower()
        )
        return {row.id: row.as2_id for row in (await self.session.execute(query)).all()}

    async def get_partner(self, partner_id: uuid.UUID) -> PartnerState | None:
        row = (
            await self.session.execute(sa.select(partners).where(partners.c.id == partner_id))
        ).first()
        return PartnerState.model_validate(_state_fields(row)) if row else None

    async def sealed_partner_secrets(self, partner_id: uuid.UUID) -> tuple[bool, str | None]:
        """(partner exists, its secrets as stored: sealed, or None when it has none)."""
        row = (
            await self.session.execute(
                sa.select(partners.c.secrets).where(partners.c.id == partner_id)
            )
        ).first()
        return (row is not None, row.secrets if row is not None else None)

    async def get_partner_secrets(self, partner_id: uuid.UUID) -> dict[str, Any]:
        sealed = await self.session.scalar(
            sa.select(partners.c.secrets).where(partners.c.id == partner_id)
        )
        if not sealed:
            return {}
        data: dict[str, Any] = json.loads(self._box.open(sealed, f"partner:{partner_id}:secrets"))
        return data

    async def add_partner(self, state: PartnerState, secrets: dict[str, Any]) -> None:
        values = {
            **_row_values(state),
            "enabled": state.enabled,
            "secrets": self._seal(state.id, secrets),
        }
        await self.session.execute(sa.insert(partners).values(values))

    async def save_partner(self, state: PartnerState, secrets: dict[str, Any]) -> None:
        values = {
            **_row_values(state),
            "enabled": state.enabled,
            "secrets": self._seal(state.id, secrets),
        }
        await self.session.execute(
            sa.update(partners).where(partners.c.id == state.id).values(values)
        )

    async def delete_partner(self, partner_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(partners).where(partners.c.id == partner_id))

    def _seal(self, partner_id: uuid.UUID, secrets: dict[str, Any]) -> str | None:
        if not secrets:
            return None
        return self._box.seal(json.dumps(secrets).encode(), f"partner:{partner_id}:secrets")

    # --- partnerships ---------------------------------------------------------------------
    def _partnership_query(self) -> sa.Select[Any]:
        return (
            sa.select(
                partnerships,
                stations.c.as2_id.label("station_as2_id"),
                partners.c.as2_id.label("partner_as2_id"),
            )
            .join(stations, stations.c.id == partnerships.c.station_id)
            .join(partners, partners.c.id == partnerships.c.partner_id)
            .order_by(stations.c.as2_id, partners.c.as2_id)
        )

    async def list_partnerships(
        self, *, station_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None
    ) -> list[PartnershipState]:
        query = self._partnership_query()
        if station_id is not None:
            query = query.where(partnerships.c.station_id == station_id)
        if partner_id is not None:
            query = query.where(partnerships.c.partner_id == partner_id)
        return [_partnership(r) for r in (await self.session.execute(query)).all()]

    async def get_partnership(self, partnership_id: uuid.UUID) -> PartnershipState | None:
        query = self._partnership_query().where(partnerships.c.id == partnership_id)
        row = (await self.session.execute(query)).first()
        return _partnership(row) if row else None

    async def add_partnership(self, state: PartnershipState) -> None:
        await self.session.execute(sa.insert(partnerships).values(_partnership_values(state)))

    async def save_partnership(self, state: PartnershipState) -> None:
        await self.session.execute(
            sa.update(partnerships)
            .where(partnerships.c.id == state.id)
            .values(_partnership_values(state))
        )

    async def delete_partnership(self, partnership_id: uuid.UUID) -> None:
        await self.session.execute(
            sa.delete(partnerships).where(partnerships.c.id == partnership_id)
        )

    # --- outbox ---------------------------------------------------------------------------
    async def add_to_outbox(
        self, event: Event, kv_key: str, kv_value: str | None, revision: int
    ) -> None:
        await add_to_outbox(
            self.session, outbox, event, kv_key=kv_key, kv_value=kv_value, revision=revision
        )


def _partnership_values(state: PartnershipState) -> dict[str, Any]:
    return state.model_dump(
        include={
            "id",
            "revision",
            "created_at",
            "updated_at",
            "station_id",
            "partner_id",
            "enabled",
        }
    )


def _partnership(row: sa.Row[Any]) -> PartnershipState:
    values = dict(row._mapping)
    values["created_at"] = _aware(values["created_at"])
    values["updated_at"] = _aware(values["updated_at"])
    return PartnershipState.model_validate(values)
