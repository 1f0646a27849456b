"""Partner HTTP credentials, asked of config-svc and cached until the partner changes.

The reply is sealed; it is opened here with the master key. A token obtained by a refresh is
kept in memory and used instead of the stored one until the partner is updated.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from nats.aio.client import Client
from nats.aio.msg import Msg

from as2bus.shared.contracts.credentials import (
    CREDENTIALS_SUBJECT,
    CredentialsReply,
    CredentialsRequest,
    secrets_context,
)
from as2bus.shared.crypto import SecretBox

PARTNER_EVENTS = "as2.evt.config.partner.>"


@dataclass(frozen=True)
class Credentials:
    password: str | None = None
    token: str | None = None
    refresh_token: str | None = None
    refresh_headers: dict[str, str] = field(default_factory=dict)


class CredentialSource(Protocol):
    async def get(self, partner_id: uuid.UUID) -> Credentials: ...

    def remember_token(self, partner_id: uuid.UUID, token: str) -> None: ...


class CredentialsUnavailableError(LookupError):
    pass


class ConfigCredentials:
    def __init__(self, client: Client, box: SecretBox, *, timeout: float = 5.0) -> None:
        self._client = client
        self._box = box
        self._timeout = timeout
        self._cache: dict[uuid.UUID, Credentials] = {}
        self._refreshed: dict[uuid.UUID, str] = {}
        self._subscription: Any = None

    async def start(self) -> None:
        self._subscription = await self._client.subscribe(PARTNER_EVENTS, cb=self._changed)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def _changed(self, msg: Msg) -> None:
        try:
            partner_id = uuid.UUID(json.loads(msg.data)["data"]["id"])
        except (ValueError, KeyError, TypeError):
            self._cache.clear()
            self._refreshed.clear()
            return
        self._cache.pop(partner_id, None)
        self._refreshed.pop(partner_id, None)

    async def get(self, partner_id: uuid.UUID) -> Credentials:
        if partner_id not in self._cache:
            request = CredentialsRequest(partner_id=partner_id).model_dump_json().encode()
            msg = await self._client.request(CREDENTIALS_SUBJECT, request, self._timeout)
            reply = CredentialsReply.model_validate_json(msg.data)
            if not reply.found:
                raise CredentialsUnavailableError(f"config-svc has no partner {partner_id}")
            secrets: dict[str, Any] = {}
            if reply.sealed:
                secrets = json.loads(self._box.open(reply.sealed, secrets_context(partner_id)))
            self._cache[partner_id] = Credentials(
                password=secrets.get("password"),
                token=secrets.get("token"),
                refresh_token=secrets.get("refresh_token"),
                refresh_headers=dict(secrets.get("refresh_headers") or {}),
            )
        stored = self._cache[partner_id]
        if partner_id in self._refreshed:
            return Credentials(
                stored.password,
                self._refreshed[partner_id],
                stored.refresh_token,
                stored.refresh_headers,
            )
        return stored

    def remember_token(self, partner_id: uuid.UUID, token: str) -> None:
        self._refreshed[partner_id] = token
