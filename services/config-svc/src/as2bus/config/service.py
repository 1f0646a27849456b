"""Use cases of config-svc. Each write runs in one transaction that also records its event in
the outbox; the relay publishes it after the commit (see adapters/relay.py)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.repository import ConfigRepository
from as2bus.config.domain import check_partner_rules as _check_partner_rules
from as2bus.config.domain import differs_only_in_case
from as2bus.config.partner_auth import split_auth
from as2bus.config.schemas import (
    PartnerCreate,
    PartnershipCreate,
    PartnershipUpdate,
    PartnerUpdate,
    StationCreate,
    StationUpdate,
)
from as2bus.contracts import (
    Deleted,
    DeletedPartnership,
    Event,
    PartnerCreated,
    PartnerDeleted,
    PartnershipCreated,
    PartnershipDeleted,
    PartnershipState,
    PartnershipUpdated,
    PartnerState,
    PartnerUpdated,
    StationCreated,
    StationDeleted,
    StationState,
    StationUpdated,
)
from as2bus.contracts.envelope import utc_now
from as2bus.contracts.subjects import config_key
from as2bus.shared.audit import audited, differences, secret_changes
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, FieldError, InvalidFieldsError, NotFoundError
from as2bus.shared.partner_warnings import partner_warnings

T = TypeVar("T")
_VOLATILE = {"revision", "updated_at"}
#: Fields that can be left out of an update but not set to null.
_NOT_NULL = {
    "as2_id", "name", "private_key_alias", "mdn_signing_alg", "accepted_encryption_algs",
    "accepted_signing_algs", "incoming_encoding", "as2_alias", "enabled", "as2_url", "mdn_mode",
    "mdn_signature", "compression", "outgoing_encoding", "http_auth", "max_concurrency",
    "signature_scheme", "key_transport", "accept_expired_mdn_certificate",
    "canonicalize_line_endings", "as2_version", "replay_protection", "tls",
}  # fmt: skip

log = logging.getLogger(__name__)


def default_alias(as2_id: str) -> str:
    """A certificate alias derived from an AS2 ID (which may hold spaces and punctuation)."""
    return re.sub(r"[^A-Za-z0-9._@-]", "_", as2_id).lower()


def _changes(update: StationUpdate | PartnerUpdate) -> dict[str, Any]:
    changes = update.model_dump(exclude_unset=True, exclude={"http_auth", "mdn_signed"})
    nulls = [
        FieldError(k, "cannot be null") for k, v in changes.items() if v is None and k in _NOT_NULL
    ]
    if "http_auth" in update.model_fields_set and getattr(update, "http_auth", None) is None:
        nulls.append(FieldError("http_auth", 'cannot be null (use {"type": "none"})'))
    if nulls:
        raise InvalidFieldsError(*nulls)
    return {k: str(v) if k.endswith("_url") and v is not None else v for k, v in changes.items()}


class ConfigService:
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
    async def _unit(self, conflict: FieldError | None = None) -> AsyncIterator[ConfigRepository]:
        """One transaction; a unique-constraint race surfaces as the caller's ConflictError."""
        try:
            async with self._sessions() as session, session.begin():
                yield ConfigRepository(session, self._box)
        except sa.exc.IntegrityError:
            raise ConflictError(
                conflict or FieldError("id", "conflicts with stored data")
            ) from None
        self._after_commit()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[ConfigRepository]:
        async with self._sessions() as session:
            yield ConfigRepository(session, self._box)

    async def _announce(
        self,
        repo: ConfigRepository,
        event_type: type[Event],
        entity: str,
        data: Any,
        *,
        deleted: bool = False,
        changes: dict[str, Any] | None = None,
    ) -> None:
        """Record the event and the key-value update it implies, in the current transaction;
        made through the API, the event carries who made the change and ``changes``."""
        event = audited(event_type(data=data, correlation_id=str(data.id)), changes)
        value = None if deleted else data.model_dump_json()
        await repo.add_to_outbox(event, config_key(entity, str(data.id)), value, data.revision)

    # --- stations -------------------------------------------------------------------------
    async def list_stations(self, as2_id: str | None = None) -> list[StationState]:
        async with self._read() as repo:
            return await repo.list_stations(as2_id)

    async def get_station(self, station_id: uuid.UUID) -> StationState:
        async with self._read() as repo:
            return await _must(repo.get_station(station_id), "station", station_id)

    async def create_station(self, data: StationCreate) -> StationState:
        duplicate = FieldError("as2_id", f"a station with AS2 ID {data.as2_id!r} already exists")
        async with self._unit(duplicate) as repo:
            if await repo.list_stations(data.as2_id):
                raise ConflictError(duplicate)
            await _refuse_case_twin(repo.station_as2_ids_ignoring_case(data.as2_id), "station")
            now = utc_now()
            fields = data.model_dump()
            fields["private_key_alias"] = data.private_key_alias or default_alias(data.as2_id)
            state = StationState(
                id=uuid.uuid4(), revision=1, created_at=now, updated_at=now, **fields
            )
            await repo.add_station(state)
            await self._announce(
                repo, StationCreated, "station", state, changes=_changed(None, state)
            )
        return state

    async def update_station(self, station_id: uuid.UUID, update: StationUpdate) -> StationState:
        changes = _changes(update)
        duplicate = FieldError(
            "as2_id", f"a station with AS2 ID {changes.get('as2_id')!r} already exists"
        )
        async with self._unit(duplicate) as repo:
            current = await _must(repo.get_station(station_id), "station", station_id)
            new = StationState.model_validate({**current.model_dump(), **changes})
            if new.model_dump(exclude=_VOLATILE) == current.model_dump(exclude=_VOLATILE):
                return current
            if new.as2_id != current.as2_id:
                if await repo.list_stations(new.as2_id):
                    raise ConflictError(duplicate)
                twins = repo.station_as2_ids_ignoring_case(new.as2_id)
                await _refuse_case_twin(twins, "station", station_id)
            new = new.model_copy(update={"revision": current.revision + 1, "updated_at": utc_now()})
            await repo.save_station(new)
            await self._announce(
                repo, StationUpdated, "station", new, changes=_changed(current, new)
            )
            if new.as2_id != current.as2_id:
                await self._touch_partnerships(
                    repo, await repo.list_partnerships(station_id=station_id)
                )
        return new

    async def delete_station(self, station_id: uuid.UUID) -> None:
        async with self._unit() as repo:
            current = await _must(repo.get_station(station_id), "station", station_id)
            await _refuse_if_used(
                repo.list_partnerships(station_id=station_id), "station", current.as2_id
            )
            await repo.delete_station(station_id)
            gone = Deleted(id=current.id, revision=current.revision + 1, as2_id=current.as2_id)
            await self._announce(repo, StationDeleted, "station", gone, deleted=True)

    # --- partners -------------------------------------------------------------------------
    async def list_partners(self, as2_id: str | None = None) -> list[PartnerState]:
        async with self._read() as repo:
            return await repo.list_partners(as2_id)

    async def get_partner(self, partner_id: uuid.UUID) -> PartnerState:
        async with self._read() as repo:
            return await _must(repo.get_partner(partner_id), "partner", partner_id)

    async def sealed_credentials(self, partner_id: uuid.UUID) -> tuple[bool, str | None]:
        async with self._read() as repo:
            return await repo.sealed_partner_secrets(partner_id)

    async def create_partner(self, data: PartnerCreate) -> PartnerState:
        duplicate = FieldError("as2_id", f"a partner with AS2 ID {data.as2_id!r} already exists")
        async with self._unit(duplicate) as repo:
            if await repo.list_partners(data.as2_id):
                raise ConflictError(duplicate)
            await _refuse_case_twin(repo.partner_as2_ids_ignoring_case(data.as2_id), "partner")
            auth, secrets = split_auth(data.http_auth, {}, {})
            fields = data.model_dump(mode="json", exclude={"http_auth", "mdn_signed"})
            fields.update(http_auth=auth, as2_alias=data.as2_alias or default_alias(data.as2_id))
            _check_partner_rules(fields, secrets)
            now = utc_now()
            state = PartnerState(
                id=uuid.uuid4(), revision=1, created_at=now, updated_at=now, **fields
            )
            await repo.add_partner(state, secrets)
            await self._announce(
                repo,
                PartnerCreated,
                "partner",
                state,
                changes=_changed(None, state, ({}, secrets)),
            )
        _warn_of(state)
        return state

    async def update_partner(self, partner_id: uuid.UUID, update: PartnerUpdate) -> PartnerState:
        changes = _changes(update)
        duplicate = FieldError(
            "as2_id", f"a partner with AS2 ID {changes.get('as2_id')!r} already exists"
        )
        async with self._unit(duplicate) as repo:
            current = await _must(repo.get_partner(partner_id), "partner", partner_id)
            secrets = old_secrets = await repo.get_partner_secrets(partner_id)
            merged = {**current.model_dump(mode="json"), **changes}
            # Only the TLS fields given change: one pin added keeps the CA bundle.
            merged["tls"] = {**current.tls.model_dump(mode="json"), **changes.get("tls", {})}
            if update.http_auth is not None:
                merged["http_auth"], secrets = split_auth(
                    update.http_auth, merged["http_auth"], secrets
                )
            _check_partner_rules(merged, secrets)
            new = PartnerState.model_validate(merged)
            unchanged = new.model_dump(exclude=_VOLATILE) == current.model_dump(exclude=_VOLATILE)
            if unchanged and update.http_auth is None:
                return current
            if new.as2_id != current.as2_id:
                if await repo.list_partners(new.as2_id):
                    raise ConflictError(duplicate)
                twins = repo.partner_as2_ids_ignoring_case(new.as2_id)
                await _refuse_case_twin(twins, "partner", partner_id)
            new = new.model_copy(update={"revision": current.revision + 1, "updated_at": utc_now()})
            await repo.save_partner(new, secrets)
            await self._announce(
                repo,
                PartnerUpdated,
                "partner",
                new,
                changes=_changed(current, new, (old_secrets, secrets)),
            )
            if new.as2_id != current.as2_id:
                await self._touch_partnerships(
                    repo, await repo.list_partnerships(partner_id=partner_id)
                )
        _warn_of(new)
        return new

    async def delete_partner(self, partner_id: uuid.UUID) -> None:
        async with self._unit() as repo:
            current = await _must(repo.get_partner(partner_id), "partner", partner_id)
            await _refuse_if_used(
                repo.list_partnerships(partner_id=partner_id), "partner", current.as2_id
            )
            await repo.delete_partner(partner_id)
            gone = Deleted(id=current.id, revision=current.revision + 1, as2_id=current.as2_id)
            await self._announce(repo, PartnerDeleted, "partner", gone, deleted=True)

    # --- partnerships ---------------------------------------------------------------------
    async def list_partnerships(
        self, station_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None
    ) -> list[PartnershipState]:
        async with self._read() as repo:
            return await repo.list_partnerships(station_id=station_id, partner_id=partner_id)

    async def get_partnership(self, partnership_id: uuid.UUID) -> PartnershipState:
        async with self._read() as repo:
            return await _must(repo.get_partnership(partnership_id), "partnership", partnership_id)

    async def create_partnership(self, data: PartnershipCreate) -> PartnershipState:
        duplicate = FieldError("partner_id", "this station and partner are already paired")
        async with self._unit(duplicate) as repo:
            station = await repo.get_station(data.station_id)
            partner = await repo.get_partner(data.partner_id)
            errors = []
            if station is None:
                errors.append(FieldError("station_id", f"no station with id {data.station_id}"))
            if partner is None:
                errors.append(FieldError("partner_id", f"no partner with id {data.partner_id}"))
            elif not partner.enabled:
                errors.append(
                    FieldError(
                        "partner_id", f"partner {partner.as2_id!r} is disabled; enable it first"
                    )
                )
            if errors or station is None or partner is None:
                raise InvalidFieldsError(*errors)
            if await repo.list_partnerships(station_id=station.id, partner_id=partner.id):
                raise ConflictError(duplicate)
            now = utc_now()
            state = PartnershipState(
                id=uuid.uuid4(), revision=1, station_id=station.id, partner_id=partner.id,
                station_as2_id=station.as2_id, partner_as2_id=partner.as2_id,
                enabled=data.enabled, created_at=now, updated_at=now,
            )  # fmt: skip
            await repo.add_partnership(state)
            await self._announce(
                repo, PartnershipCreated, "partnership", state, changes=_changed(None, state)
            )
        return state

    async def update_partnership(
        self, partnership_id: uuid.UUID, update: PartnershipUpdate
    ) -> PartnershipState:
        async with self._unit() as repo:
            current = await _must(
                repo.get_partnership(partnership_id), "partnership", partnership_id
            )
            if current.enabled == update.enabled:
                return current
            partner = await repo.get_partner(current.partner_id)
            if update.enabled and partner is not None and not partner.enabled:
                raise InvalidFieldsError(
                    FieldError(
                        "enabled", f"partner {partner.as2_id!r} is disabled; enable it first"
                    )
                )
            new = current.model_copy(
                update={
                    "enabled": update.enabled,
                    "revision": current.revision + 1,
                    "updated_at": utc_now(),
                }
            )
            await repo.save_partnership(new)
            await self._announce(
                repo, PartnershipUpdated, "partnership", new, changes=_changed(current, new)
            )
        return new

    async def delete_partnership(self, partnership_id: uuid.UUID) -> None:
        async with self._unit() as repo:
            current = await _must(
                repo.get_partnership(partnership_id), "partnership", partnership_id
            )
            await repo.delete_partnership(partnership_id)
            gone = DeletedPartnership(
                id=current.id, revision=current.revision + 1,
                station_as2_id=current.station_as2_id, partner_as2_id=current.partner_as2_id,
            )  # fmt: skip
            await self._announce(repo, PartnershipDeleted, "partnership", gone, deleted=True)

    async def _touch_partnerships(
        self, repo: ConfigRepository, affected: list[PartnershipState]
    ) -> None:
        """A renamed station or partner changes the AS2 IDs its partnerships carry."""
        for stale in affected:
            fresh = await repo.get_partnership(stale.id)
            assert fresh is not None
            fresh = fresh.model_copy(
                update={"revision": stale.revision + 1, "updated_at": utc_now()}
            )
            await repo.save_partnership(fresh)
            await self._announce(repo, PartnershipUpdated, "partnership", fresh)


#: Not a change anybody made: bookkeeping of every write.
_NOT_AUDITED = {"id", "revision", "created_at", "updated_at"}


def _changed(
    before: BaseModel | None,
    after: BaseModel,
    secrets: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What a write changed, for the audit record: each field from and to (all of them for a
    new entity), and which secrets were set, replaced or removed, never their values."""
    old = before.model_dump(mode="json", exclude=_NOT_AUDITED) if before is not None else {}
    new = after.model_dump(mode="json", exclude=_NOT_AUDITED)
    found = differences(_tls_apart(old), _tls_apart(new))
    if secrets is not None:
        found.update(secret_changes(*secrets))
    return found


def _tls_apart(fields: dict[str, Any]) -> dict[str, Any]:
    """A partner's TLS settings as one audited field each (``tls.verify``): the record of a
    changed pin does not repeat the whole CA bundle."""
    tls = fields.pop("tls", None)
    if isinstance(tls, dict):
        fields.update({f"tls.{name}": value for name, value in tls.items()})
    return fields


async def _must(lookup: Awaitable[T | None], entity: str, ref: uuid.UUID) -> T:
    found = await lookup
    if found is None:
        raise NotFoundError(entity, ref)
    return found


async def _refuse_if_used(
    lookup: Awaitable[list[PartnershipState]], entity: str, as2_id: str
) -> None:
    used = await lookup
    if used:
        pairs = ", ".join(f"{p.station_as2_id} -> {p.partner_as2_id}" for p in used[:5])
        them = "it" if len(used) == 1 else "them"
        raise ConflictError(
            FieldError(
                "id",
                f"{entity} {as2_id!r} is used by {len(used)} partnership(s) ({pairs}): "
                f"delete {them} first",
                f"{entity}_in_use",
            )
        )


async def _refuse_case_twin(
    lookup: Awaitable[dict[uuid.UUID, str]], entity: str, itself: uuid.UUID | None = None
) -> None:
    """Refuse an AS2 ID that an existing station (or partner) has but for case; ``itself``
    is the one being renamed, which may change the case of its own AS2 ID."""
    others = sorted(as2_id for ref, as2_id in (await lookup).items() if ref != itself)
    if others:
        raise ConflictError(differs_only_in_case(entity, others[0]))


def _warn_of(partner: PartnerState) -> None:
    """Log what the admin is warned of (the CLI and the console say it too): a partner saved
    as it is, with a risk it may not have meant."""
    for warning in partner_warnings(partner.model_dump(mode="json")):
        log.warning("partner saved with a risk: %s", warning)
