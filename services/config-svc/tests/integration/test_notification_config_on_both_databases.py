"""Notification channels and rules: the use cases against real SQLite and PostgreSQL (each test
runs on both). Secrets sealed at rest and in no outbox row; kept across updates that leave them
out, as long as the type (and for e-mail the user name) stays; each change one outbox row."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.notification_repository import NotificationRepository
from as2bus.config.adapters.notification_tables import notification_channels
from as2bus.config.adapters.tables import outbox
from as2bus.config.notification_schemas import ChannelCreate, ChannelUpdate, RuleCreate, RuleUpdate
from as2bus.config.notifications import NotificationConfig
from as2bus.contracts.notifications import channel_secrets_context
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, InvalidFieldsError

Sessions = async_sessionmaker[AsyncSession]
HOOK_SECRET = "whsec-0123456789abcdef"
SMTP_PASSWORD = "smtp-pass-9876543210"
WEBHOOK = {"type": "webhook", "url": "https://hooks.example.com/a", "secret": HOOK_SECRET}
EMAIL = {
    "type": "email", "host": "smtp.example.com", "username": "as2bus",
    "password": SMTP_PASSWORD, "sender": "as2bus@example.com", "recipients": ["ops@example.com"],
}  # fmt: skip


@pytest.fixture
def notifications(sessions: Sessions, master_key: str) -> NotificationConfig:
    return NotificationConfig(sessions, SecretBox(master_key))


def channel(name: str, target: dict[str, Any]) -> ChannelCreate:
    return ChannelCreate.model_validate({"name": name, "target": target})


def target_update(**target: Any) -> ChannelUpdate:
    return ChannelUpdate.model_validate({"target": target})


async def outbox_events(sessions: Sessions) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    return [json.loads(r.payload) for r in rows]


async def stored_secrets(sessions: Sessions, master_key: str, ref: uuid.UUID) -> dict[str, Any]:
    async with sessions() as session:
        return await NotificationRepository(session, SecretBox(master_key)).channel_secrets(ref)


async def test_secrets_are_sealed_at_rest_in_no_outbox_row_and_kept_when_left_out(
    notifications: NotificationConfig, sessions: Sessions, master_key: str
) -> None:
    hook = await notifications.create_channel(channel("ops hook", WEBHOOK))
    mail = await notifications.create_channel(channel("ops mail", EMAIL))
    async with sessions() as session:
        raw = " ".join(str(tuple(r)) for r in await session.execute(
            sa.select(notification_channels)))  # fmt: skip
    assert HOOK_SECRET not in raw
    assert SMTP_PASSWORD not in raw

    moved = target_update(type="webhook", url="https://h.example/b")
    await notifications.update_channel(hook.id, moved)
    email_without_password = {k: v for k, v in EMAIL.items() if k != "password"}
    same_user = {**email_without_password, "port": 2525}
    await notifications.update_channel(mail.id, target_update(**same_user))
    await notifications.update_channel(hook.id, ChannelUpdate(name="ops webhook"))
    assert await stored_secrets(sessions, master_key, hook.id) == {"secret": HOOK_SECRET}
    assert await stored_secrets(sessions, master_key, mail.id) == {"password": SMTP_PASSWORD}
    assert (await notifications.get_channel(mail.id)).target.port == 2525  # type: ignore[union-attr]

    # Another user name without a password: the old password is not sent for the new user.
    other_user = await notifications.update_channel(
        mail.id, target_update(**{**email_without_password, "username": "someone-else"})
    )
    assert other_user.target.password_set is False  # type: ignore[union-attr]
    assert await stored_secrets(sessions, master_key, mail.id) == {}
    # Another type needs its own secret: the webhook's is not carried over to e-mail or back.
    with pytest.raises(InvalidFieldsError, match=r"target\.secret"):
        await notifications.update_channel(
            mail.id, target_update(type="webhook", url="https://h.example/c")
        )

    setup = await notifications.setup()
    sealed = {c.channel.name: c.sealed for c in setup.channels}
    assert sealed["ops mail"] is None
    context = channel_secrets_context(hook.id)
    opened = SecretBox(master_key).open(str(sealed["ops webhook"]), context)
    assert json.loads(opened) == {"secret": HOOK_SECRET}

    events = await outbox_events(sessions)
    assert [e["event_type"] for e in events] == [
        "NotificationChannelCreated", "NotificationChannelCreated", "NotificationChannelUpdated",
        "NotificationChannelUpdated", "NotificationChannelUpdated", "NotificationChannelUpdated",
    ]  # fmt: skip
    assert HOOK_SECRET not in json.dumps(events)
    assert SMTP_PASSWORD not in json.dumps(events)


async def test_an_update_that_changes_nothing_records_nothing(
    notifications: NotificationConfig, sessions: Sessions
) -> None:
    hook = await notifications.create_channel(channel("ops hook", WEBHOOK))
    same = await notifications.update_channel(
        hook.id, target_update(type="webhook", url=WEBHOOK["url"])
    )
    assert same.revision == 1
    rule = await notifications.create_rule(RuleCreate(
        name="failed", kind="message-failed", channel_ids=[hook.id]))  # fmt: skip
    assert rule.minutes == 0  # the kind's default: at once
    assert (await notifications.update_rule(rule.id, RuleUpdate(minutes=0))).revision == 1
    assert [e["event_type"] for e in await outbox_events(sessions)] == [
        "NotificationChannelCreated", "NotificationRuleCreated",
    ]  # fmt: skip


async def test_names_are_unique_and_a_channel_in_use_stays(
    notifications: NotificationConfig, sessions: Sessions
) -> None:
    hook = await notifications.create_channel(channel("ops hook", WEBHOOK))
    mail = await notifications.create_channel(channel("ops mail", EMAIL))
    with pytest.raises(ConflictError, match="already exists"):
        await notifications.create_channel(channel("ops hook", WEBHOOK))
    with pytest.raises(ConflictError, match="already exists"):
        await notifications.update_channel(mail.id, ChannelUpdate(name="ops hook"))
    rule = await notifications.create_rule(RuleCreate(
        name="down", kind="partner-unreachable", channel_ids=[hook.id, mail.id]))  # fmt: skip
    assert rule.minutes == 15
    with pytest.raises(ConflictError, match="used by rule"):
        await notifications.delete_channel(hook.id)
    with pytest.raises(InvalidFieldsError, match="no notification channel"):
        await notifications.update_rule(rule.id, RuleUpdate(channel_ids=[uuid.uuid4()]))
    await notifications.update_rule(rule.id, RuleUpdate(channel_ids=[mail.id], enabled=False))
    await notifications.delete_channel(hook.id)
    await notifications.delete_rule(rule.id)
    assert [c.name for c in await notifications.list_channels()] == ["ops mail"]
    assert await notifications.list_rules() == []
    kinds = [e["event_type"] for e in await outbox_events(sessions)]
    assert kinds[-3:] == [
        "NotificationRuleUpdated", "NotificationChannelDeleted", "NotificationRuleDeleted",
    ]  # fmt: skip
