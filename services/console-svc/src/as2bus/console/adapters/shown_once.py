"""A generated password between the form that made it (Create user, Reset password) and the
page that shows it, once. The form answers with a redirect (POST-redirect-GET) so that a
reload of that page asks again instead of posting again: posting again made another password
and the one already handed over stopped working.

The redirect carries a random token. The database keeps its SHA-256 and the password
encrypted under a key derived from the token, so the database alone never gives a password
away; replicas share it, so any of them can show the page. The first look blanks the password;
the row goes a few minutes later. Only the admin who made the password can see it."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.console.adapters.tables import shown_once

#: Long enough for a slow page load, short enough that a forgotten tab holds nothing for long.
SHOWN_WITHIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Shown:
    email: str  # whose password it is
    password: str | None  # None: shown already


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cipher(token: str) -> AESGCM:
    return AESGCM(hashlib.sha256(f"as2bus-shown-once:{token}".encode()).digest())


class ShownOnce:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._db = sessions
        self._clock = clock

    async def keep(self, viewer: uuid.UUID, email: str, password: str) -> str:
        """Keep ``password`` (of ``email``) for ``viewer`` to see once; the token to show it."""
        token = secrets.token_urlsafe(32)
        nonce = os.urandom(12)
        sealed = nonce + _cipher(token).encrypt(nonce, password.encode(), email.encode())
        now = self._clock()
        async with self._db() as db, db.begin():
            await db.execute(sa.delete(shown_once).where(shown_once.c.expires_at <= now))
            await db.execute(
                sa.insert(shown_once).values(digest=_digest(token), viewer_id=viewer, email=email,
                                             sealed=sealed, expires_at=now + SHOWN_WITHIN)
            )  # fmt: skip
        return token

    async def take(self, token: str, viewer: uuid.UUID) -> Shown | None:
        """The password behind ``token``, the first time ``viewer`` asks; after that, its
        e-mail address without it. None: no such token for ``viewer`` (or it expired)."""
        table = shown_once
        async with self._db() as db, db.begin():
            found = table.c.digest == _digest(token), table.c.viewer_id == viewer
            row = (await db.execute(sa.select(table).where(*found))).first()
            if row is None or _aware(row.expires_at) <= self._clock():
                return None
            if row.sealed is None:
                return Shown(row.email, None)
            # Blank it only if nobody else did in between (two tabs at once): one shows it.
            blanked = await db.execute(
                sa.update(table)
                .where(table.c.digest == row.digest, table.c.sealed == row.sealed)
                .values(sealed=None)
            )
        if blanked.rowcount != 1:  # type: ignore[attr-defined]
            return Shown(row.email, None)
        sealed: bytes = row.sealed
        password = _cipher(token).decrypt(sealed[:12], sealed[12:], row.email.encode())
        return Shown(row.email, password.decode())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
