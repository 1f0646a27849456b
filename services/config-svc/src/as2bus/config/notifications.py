"""Use cases for notification channels and rules: each write in one transaction with its event
in the outbox (published after the commit, as every config change is)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.notification_repository import NotificationRepository
from as2bus.config.adapters.repository import ConfigRepository
from as2bus.config.notification_schemas import (
    ChannelCreate,
    ChannelUpdate,
    EmailIn,
    RuleCreate,
    RuleUpdate,
    TargetIn,
)
from as2bus.contracts import Event
from as2bus.contracts.envelope import utc_now
from as2bus.contracts.notifications import (
    DeletedNotificationEntity,
    NotificationChannelCreated,
    NotificationChannelDeleted,
    NotificationChannelState,
    NotificationChannelUpdated,
    NotificationRuleCreated,
    NotificationRuleDeleted,
    NotificationRuleState,
    NotificationRuleUpdated,
    NotificationSetupReply,
    SealedChannel,
)
from as2bus.contracts.subjects import config_key
from as2bus.shared.audit import audited, differences, secret_changes
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, FieldError, InvalidFieldsError, NotFoundError

T = TypeVar("T")
_VOLATILE = {"revision", "updated_at"}
_NOT_AUDITED = {"id", "revision", "created_at", "updated_at"}
CHANNEL, RULE = "notification-channel", "notification-rule"


def split_target(
    target: TargetIn, old_public: dict[str, Any] | None, old_secrets: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public target, secrets); a secret left out is kept while the type (and for e-mail the
    username) is unchanged."""
    old = old_public or {}
    same = old.get("type") == target.type
    public = target.model_dump(mode="json", exclude={"secret", "password"})
    if isinstance(target, EmailIn):
        same = same and old.get("username") == target.username
        password = _reveal(target.password, old_secrets.get("password") if same else None)
        if not target.username:
            password = None  # a password without a user is never sent
        return {**public, "password_set": bool(password)}, (
            {"password": password} if password else {}
        )
    secret = _reveal(target.secret, old_secrets.get("secret") if same else None)
    if not secret:
        raise InvalidFieldsError(
            FieldError(
                "target.secret", "a webhook needs a secret (at least 16 characters) to sign with"
            )
        )
    return {**public, "secret_set": True}, {"secret": secret}


def _reveal(value: SecretStr | None, kept: Any) -> Any:
    return value.get_secret_value() if value is not None else kept


def _changed(
    before: BaseModel | None, after: BaseModel, secrets: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    old = before.model_dump(mode="json", exclude=_NOT_AUDITED) if before is not None else {}
    found = differences(old, after.model_dump(mode="json", exclude=_NOT_AUDITED))
    if secrets:
        found.update(secret_changes(secrets[0], secrets[1]))
    return found


class NotificationConfig:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._after_commit = after_commit

    @asynccontextmanager
    async def _unit(self, duplicate: FieldError) -> AsyncIterator[NotificationRepository]:
        try:
            async with self._sessions() as session, session.begin():
                yield NotificationRepository(session, self._box)
        except sa.exc.IntegrityError:
            raise ConflictError(duplicate) from None
        self._after_commit()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[NotificationRepository]:
        async with self._sessions() as session:
            yield NotificationRepository(session, self._box)

    async def _announce(
        self,
        repo: NotificationRepository,
        event_type: type[Event],
        entity: str,
        data: Any,
        *,
        deleted: bool = False,
        changes: dict[str, Any] | None = None,
    ) -> None:
        event = audited(event_type(data=data, correlation_id=str(data.id)), changes)
        value = None if deleted else data.model_dump_json()
        outbox = ConfigRepository(repo.session, self._box)
        await outbox.add_to_outbox(event, config_key(entity, str(data.id)), value, data.revision)

    # --- for notify-svc -------------------------------------------------------------------
    async def setup(self) -> NotificationSetupReply:
        """Every channel with its secrets still sealed, and every rule."""
        async with self._read() as repo:
            channels = [SealedChannel(channel=c, sealed=s) for c, s in await repo.sealed_channels()]
            return NotificationSetupReply(channels=channels, rules=await repo.list_rules())

    # --- channels -------------------------------------------------------------------------
    async def list_channels(self) -> list[NotificationChannelState]:
        async with self._read() as repo:
            return await repo.list_channels()

    async def get_channel(self, channel_id: uuid.UUID) -> NotificationChannelState:
        async with self._read() as repo:
            return _must(await repo.get_channel(channel_id), "notification channel", channel_id)

    async def create_channel(self, data: ChannelCreate) -> NotificationChannelState:
        async with self._unit(_taken("channel", data.name)) as repo:
            if await repo.list_channels(data.name):
                raise ConflictError(_taken("channel", data.name))
            target, secrets = split_target(data.target, None, {})
            now = utc_now()
            state = NotificationChannelState(
                id=uuid.uuid4(), revision=1, name=data.name, enabled=data.enabled,
                target=target, created_at=now, updated_at=now,
            )  # fmt: skip
            await repo.add_channel(state, secrets)
            changes = _changed(None, state, ({}, secrets))
            await self._announce(repo, NotificationChannelCreated, CHANNEL, state, changes=changes)
        return state

    async def update_channel(
        self, channel_id: uuid.UUID, update: ChannelUpdate
    ) -> NotificationChannelState:
        name = update.name or ""
        async with self._unit(_taken("channel", name)) as repo:
            current = _must(await repo.get_channel(channel_id), "notification channel", channel_id)
            secrets = old_secrets = await repo.channel_secrets(channel_id)
            merged = current.model_dump(mode="json")
            merged.update(update.model_dump(exclude_unset=True, exclude={"target"}))
            if update.target is not None:
                merged["target"], secrets = split_target(
                    update.target, merged["target"], old_secrets
                )
            new = NotificationChannelState.model_validate(merged)
            same = new.model_dump(exclude=_VOLATILE) == current.model_dump(exclude=_VOLATILE)
            if same and secrets == old_secrets:
                return current
            if new.name != current.name and await repo.list_channels(new.name):
                raise ConflictError(_taken("channel", new.name))
            new = new.model_copy(update={"revision": current.revision + 1, "updated_at": utc_now()})
            await repo.save_channel(new, secrets)
            changes = _changed(current, new, (old_secrets, secrets))
            await self._announce(repo, NotificationChannelUpdated, CHANNEL, new, changes=changes)
        return new

    async def delete_channel(self, channel_id: uuid.UUID) -> None:
        async with self._unit(FieldError("id", "conflicts with stored data")) as repo:
            current = _must(await repo.get_channel(channel_id), "notification channel", channel_id)
            users = [r.name for r in await repo.list_rules() if channel_id in r.channel_ids]
            if users:
                raise ConflictError(
                    FieldError("id", f"the channel is used by rule(s) {', '.join(users[:5])}: "
                               "change or delete them first")
                )  # fmt: skip
            await repo.delete_channel(channel_id)
            gone = DeletedNotificationEntity(
                id=current.id, revision=current.revision + 1, name=current.name
            )
            await self._announce(repo, NotificationChannelDeleted, CHANNEL, gone, deleted=True)

    # --- rules ----------------------------------------------------------------------------
    async def list_rules(self) -> list[NotificationRuleState]:
        async with self._read() as repo:
            return await repo.list_rules()

    async def get_rule(self, rule_id: uuid.UUID) -> NotificationRuleState:
        async with self._read() as repo:
            return _must(await repo.get_rule(rule_id), "notification rule", rule_id)

    async def create_rule(self, data: RuleCreate) -> NotificationRuleState:
        async with self._unit(_taken("rule", data.name)) as repo:
            if await repo.list_rules(data.name):
                raise ConflictError(_taken("rule", data.name))
            await _channels_exist(repo, data.channel_ids)
            now = utc_now()
            state = NotificationRuleState(
                id=uuid.uuid4(), revision=1, created_at=now, updated_at=now, **data.resolved()
            )
            await repo.add_rule(state)
            changes = _changed(None, state)
            await self._announce(repo, NotificationRuleCreated, RULE, state, changes=changes)
        return state

    async def update_rule(self, rule_id: uuid.UUID, update: RuleUpdate) -> NotificationRuleState:
        async with self._unit(_taken("rule", update.name or "")) as repo:
            current = _must(await repo.get_rule(rule_id), "notification rule", rule_id)
            changes = update.model_dump(mode="json", exclude_unset=True)
            nulls = [k for k, v in changes.items() if v is None]
            if nulls:
                raise InvalidFieldsError(*(FieldError(k, "cannot be null") for k in nulls))
            new = NotificationRuleState.model_validate({**current.model_dump(), **changes})
            if new.model_dump(exclude=_VOLATILE) == current.model_dump(exclude=_VOLATILE):
                return current
            if new.name != current.name and await repo.list_rules(new.name):
                raise ConflictError(_taken("rule", new.name))
            await _channels_exist(repo, new.channel_ids)
            new = new.model_copy(update={"revision": current.revision + 1, "updated_at": utc_now()})
            await repo.save_rule(new)
            audit = _changed(current, new)
            await self._announce(repo, NotificationRuleUpdated, RULE, new, changes=audit)
        return new

    async def delete_rule(self, rule_id: uuid.UUID) -> None:
        async with self._unit(FieldError("id", "conflicts with stored data")) as repo:
            current = _must(await repo.get_rule(rule_id), "notification rule", rule_id)
            await repo.delete_rule(rule_id)
            gone = DeletedNotificationEntity(
                id=current.id, revision=current.revision + 1, name=current.name
            )
            await self._announce(repo, NotificationRuleDeleted, RULE, gone, deleted=True)


def _taken(entity: str, name: str) -> FieldError:
    return FieldError("name", f"a notification {entity} named {name!r} already exists")


def _must(found: T | None, entity: str, ref: uuid.UUID) -> T:
    if found is None:
        raise NotFoundError(entity, ref)
    return found


async def _channels_exist(repo: NotificationRepository, ids: list[uuid.UUID]) -> None:
    known = {c.id for c in await repo.list_channels()}
    missing = [str(i) for i in ids if i not in known]
    if missing:
        raise InvalidFieldsError(
            FieldError("channel_ids", f"no notification channel {', '.join(missing)}")
        )
