"""Partner HTTP credentials, asked of config-svc and cached until the partner changes.

config-svc answers on ``as2.rpc.config.partner-credentials`` with the secrets still sealed
(context ``partner:<id>:secrets``); they are opened here with the master key. The cache of a
partner is dropped on any ``as2.evt.config.partner.>`` event about it. A token obtained by a
refresh (and a refresh token the partner rotated) is kept in memory only and used instead of
the stored one until the partner changes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from as2bus.contracts.credentials import (
    CREDENTIALS_SUBJECT,
    CredentialsReply,
    CredentialsRequest,
    secrets_context,
)
from as2bus.shared.crypto import SecretBox, SecretDecryptError

PARTNER_EVENTS = "as2.evt.config.partner.>"


@dataclass(frozen=True, repr=False)
class Credentials:
    password: str | None = None
    token: str | None = None
    refresh_token: str | None = None
    refresh_headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a secret by accident
        return "Credentials(<redacted>)"


class CredentialSource(Protocol):
    async def get(self, partner_id: uuid.UUID) -> Credentials: ...

    def remember_token(
        self, partner_id: uuid.UUID, token: str, refresh_token: str | None = None
    ) -> None: ...


class CredentialsUnavailableError(LookupError):
    """The credentials could not be had; the message says why and holds no secret."""


class ConfigCredentials:
    def __init__(self, client: Client, box: SecretBox, *, timeout: float = 5.0) -> None:
        self._client = client
        self._box = box
        self._timeout = timeout
        self._cache: dict[uuid.UUID, Credentials] = {}
        self._refreshed: dict[uuid.UUID, tuple[str, str | None]] = {}
        self._generation: dict[uuid.UUID, int] = {}
        self._subscription: Any = None

    async def start(self) -> None:
        self._subscription = await self._client.subscribe(PARTNER_EVENTS, cb=self._changed)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _changed(self, msg: Msg) -> None:
        try:
            partner_id = uuid.UUID(json.loads(msg.data)["data"]["id"])
        except (ValueError, KeyError, TypeError):
            for known in set(self._cache) | set(self._refreshed):
                self.forget(known)
            return
        self.forget(partner_id)

    def forget(self, partner_id: uuid.UUID) -> None:
        """Drop what is known of a partner's credentials (the next ``get`` asks again)."""
        self._generation[partner_id] = self._generation.get(partner_id, 0) + 1
        self._cache.pop(partner_id, None)
        self._refreshed.pop(partner_id, None)

    async def get(self, partner_id: uuid.UUID) -> Credentials:
        stored = self._cache.get(partner_id)
        if stored is None:
            generation = self._generation.get(partner_id, 0)
            stored = await self._ask(partner_id)
            if generation == self._generation.get(partner_id, 0):
                self._cache[partner_id] = stored  # else it changed while we asked: use once
        refreshed = self._refreshed.get(partner_id)
        if refreshed is None:
            return stored
        token, refresh_token = refreshed
        return replace(stored, token=token, refresh_token=refresh_token or stored.refresh_token)

    def remember_token(
        self, partner_id: uuid.UUID, token: str, refresh_token: str | None = None
    ) -> None:
        """Kept in memory only: a restart goes back to the stored token, which is refreshed
        again if refused. (If the partner rotated the refresh token, the stored one may no
        longer work: update the partner's credentials through config-svc then.)"""
        self._refreshed[partner_id] = (token, refresh_token)

    async def _ask(self, partner_id: uuid.UUID) -> Credentials:
        request = CredentialsRequest(partner_id=partner_id).model_dump_json().encode()
        try:
            msg = await self._client.request(CREDENTIALS_SUBJECT, request, self._timeout)
            reply = CredentialsReply.model_validate_json(msg.data)
        except (nats.errors.Error, TimeoutError) as err:
            raise CredentialsUnavailableError(
                f"config-svc did not answer for partner credentials ({type(err).__name__})"
            ) from None
        except ValidationError:
            raise CredentialsUnavailableError(
                "config-svc answered the credentials request with something unexpected"
            ) from None
        if not reply.found or reply.partner_id != partner_id:
            raise CredentialsUnavailableError(f"config-svc has no partner {partner_id}")
        if not reply.sealed:
            return Credentials()
        try:
            secrets: dict[str, Any] = json.loads(
                self._box.open(reply.sealed, secrets_context(partner_id))
            )
        except SecretDecryptError:
            raise CredentialsUnavailableError(
                f"cannot open the credentials of partner {partner_id}: "
                "is AS2BUS_MASTER_KEY the same as config-svc's?"
            ) from None
        return Credentials(
            password=secrets.get("password"),
            token=secrets.get("token"),
            refresh_token=secrets.get("refresh_token"),
            refresh_headers=dict(secrets.get("refresh_headers") or {}),
        )
