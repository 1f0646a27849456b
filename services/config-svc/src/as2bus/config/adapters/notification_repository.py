"""Notification channels and rules in SQL; channel secrets sealed with the master key."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.config.adapters.notification_tables import notification_channels, notification_rules
from as2bus.contracts.notifications import (
    NotificationChannelState,
    NotificationRuleState,
    channel_secrets_context,
)
from as2bus.shared.crypto import SecretBox

_ROW_FIELDS = {"id", "revision", "created_at", "updated_at", "name"}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: naive, stored UTC


def _values(state: NotificationChannelState | NotificationRuleState) -> dict[str, Any]:
    return {
        **state.model_dump(include=_ROW_FIELDS),
        "settings": state.model_dump(mode="json", exclude=_ROW_FIELDS),
    }


def _fields(row: sa.Row[Any]) -> dict[str, Any]:
    values = dict(row._mapping)
    return {
        **values["settings"],
        **{k: values[k] for k in _ROW_FIELDS},
        "created_at": _aware(values["created_at"]),
        "updated_at": _aware(values["updated_at"]),
    }


class NotificationRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self.session = session
        self._box = box

    # --- channels -------------------------------------------------------------------------
    async def list_channels(self, name: str | None = None) -> list[NotificationChannelState]:
        query = sa.select(notification_channels).order_by(notification_channels.c.name)
        if name is not None:
            query = query.where(notification_channels.c.name == name)
        rows = (await self.session.execute(query)).all()
        return [NotificationChannelState.model_validate(_fields(r)) for r in rows]

    async def sealed_channels(self) -> list[tuple[NotificationChannelState, str | None]]:
        rows = (
            await self.session.execute(
                sa.select(notification_channels).order_by(notification_channels.c.name)
            )
        ).all()
        return [(NotificationChannelState.model_validate(_fields(r)), r.secrets) for r in rows]

    async def get_channel(self, channel_id: uuid.UUID) -> NotificationChannelState | None:
        table = notification_channels
        row = (await self.session.execute(sa.select(table).where(table.c.id == channel_id))).first()
        return NotificationChannelState.model_validate(_fields(row)) if row else None

    async def channel_secrets(self, channel_id: uuid.UUID) -> dict[str, Any]:
        table = notification_channels
        sealed = await self.session.scalar(
            sa.select(table.c.secrets).where(table.c.id == channel_id)
        )
        if not sealed:
            return {}
        opened: dict[str, Any] = json.loads(
            self._box.open(sealed, channel_secrets_context(channel_id))
        )
        return opened

    async def add_channel(self, state: NotificationChannelState, secrets: dict[str, Any]) -> None:
        values = {**_values(state), "secrets": self._seal(state.id, secrets)}
        await self.session.execute(sa.insert(notification_channels).values(values))

    async def save_channel(self, state: NotificationChannelState, secrets: dict[str, Any]) -> None:
        table = notification_channels
        values = {**_values(state), "secrets": self._seal(state.id, secrets)}
        await self.session.execute(sa.update(table).where(table.c.id == state.id).values(values))

    async def delete_channel(self, channel_id: uuid.UUID) -> None:
        table = notification_channels
        await self.session.execute(sa.delete(table).where(table.c.id == channel_id))

    def _seal(self, channel_id: uuid.UUID, secrets: dict[str, Any]) -> str | None:
        if not secrets:
            return None
        return self._box.seal(json.dumps(secrets).encode(), channel_secrets_context(channel_id))

    # --- rules ----------------------------------------------------------------------------
    async def list_rules(self, name: str | None = None) -> list[NotificationRuleState]:
        query = sa.select(notification_rules).order_by(notification_rules.c.name)
        if name is not None:
            query = query.where(notification_rules.c.name == name)
        rows = (await self.session.execute(query)).all()
        return [NotificationRuleState.model_validate(_fields(r)) for r in rows]

    async def get_rule(self, rule_id: uuid.UUID) -> NotificationRuleState | None:
        table = notification_rules
        row = (await self.session.execute(sa.select(table).where(table.c.id == rule_id))).first()
        return NotificationRuleState.model_validate(_fields(row)) if row else None

    async def add_rule(self, state: NotificationRuleState) -> None:
        await self.session.execute(sa.insert(notification_rules).values(_values(state)))

    async def save_rule(self, state: NotificationRuleState) -> None:
        table = notification_rules
        await self.session.execute(
            sa.update(table).where(table.c.id == state.id).values(_values(state))
        )

    async def delete_rule(self, rule_id: uuid.UUID) -> None:
        table = notification_rules
        await self.session.execute(sa.delete(table).where(table.c.id == rule_id))
