"""Users, sessions and failed sign-ins in the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.console.adapters.tables import sessions, sign_in_failures, users
from as2bus.console.domain.roles import Role
from as2bus.console.domain.sessions import Session
from as2bus.console.domain.users import User


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _user(row: Any) -> User:
    return User(row.id, row.email, Role[row.role.upper()], row.password_hash,
                _aware(row.created_at), row.disabled)  # fmt: skip


class Repository:
    def __init__(self, sessions_factory: async_sessionmaker[AsyncSession]) -> None:
        self._db = sessions_factory

    # --- users ---------------------------------------------------------------------------
    async def add_user(self, user: User) -> bool:
        """False when the e-mail address is taken."""
        values = {"id": user.id, "email": user.email, "role": user.role.label,
                  "password_hash": user.password_hash, "disabled": user.disabled,
                  "created_at": user.created_at}  # fmt: skip
        try:
            async with self._db() as db, db.begin():
                await db.execute(sa.insert(users).values(**values))
        except sa.exc.IntegrityError:
            return False
        return True

    async def user_by_email(self, email: str) -> User | None:
        async with self._db() as db:
            row = (await db.execute(sa.select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def user(self, user_id: uuid.UUID) -> User | None:
        async with self._db() as db:
            row = (await db.execute(sa.select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def set_role(self, user_id: uuid.UUID, role: Role) -> None:
        async with self._db() as db, db.begin():
            await db.execute(sa.update(users).where(users.c.id == user_id).values(role=role.label))

    async def all_users(self) -> list[User]:
        async with self._db() as db:
            rows = (await db.execute(sa.select(users).order_by(users.c.email))).all()
        return [_user(row) for row in rows]

    async def save_user(self, user: User) -> None:
        """A user's role, status and password hash as given; a disabled user or a new password
        ends the user's sessions (in the same transaction)."""
        values = {"role": user.role.label, "disabled": user.disabled,
                  "password_hash": user.password_hash}  # fmt: skip
        async with self._db() as db, db.begin():
            old_hash = await db.scalar(
                sa.select(users.c.password_hash).where(users.c.id == user.id)
            )
            await db.execute(sa.update(users).where(users.c.id == user.id).values(**values))
            if user.disabled or old_hash != user.password_hash:
                await db.execute(sa.delete(sessions).where(sessions.c.user_id == user.id))

    async def count_users(self) -> int:
        async with self._db() as db:
            return int(await db.scalar(sa.select(sa.func.count()).select_from(users)) or 0)

    # --- sessions ------------------------------------------------------------------------
    async def add_session(self, session: Session) -> None:
        async with self._db() as db, db.begin():
            await db.execute(
                sa.insert(sessions).values(digest=session.digest, user_id=session.user_id,
                                           csrf=session.csrf, expires_at=session.expires_at,
                                           last_seen_at=session.last_seen)
            )  # fmt: skip

    async def session(self, digest: str) -> Session | None:
        async with self._db() as db:
            row = (await db.execute(sa.select(sessions).where(sessions.c.digest == digest))).first()
        if row is None:
            return None
        seen = _aware(row.last_seen_at) if row.last_seen_at is not None else None
        return Session(row.digest, row.user_id, row.csrf, _aware(row.expires_at), seen)

    async def session_seen(self, digest: str, now: datetime) -> None:
        async with self._db() as db, db.begin():
            await db.execute(
                sa.update(sessions).where(sessions.c.digest == digest).values(last_seen_at=now)
            )

    async def drop_session(self, digest: str) -> None:
        async with self._db() as db, db.begin():
            await db.execute(sa.delete(sessions).where(sessions.c.digest == digest))

    async def drop_expired_sessions(self, now: datetime) -> None:
        async with self._db() as db, db.begin():
            await db.execute(sa.delete(sessions).where(sessions.c.expires_at <= now))

    # --- failed sign-ins -----------------------------------------------------------------
    async def failures(self, key: str) -> tuple[int, datetime | None]:
        async with self._db() as db:
            row = (
                await db.execute(sa.select(sign_in_failures).where(sign_in_failures.c.key == key))
            ).first()
        return (row.failures, _aware(row.first_at)) if row else (0, None)

    async def record_failure(self, key: str, now: datetime, *, restart: bool) -> None:
        """One more failure; ``restart``: the window is over, count from this one."""
        async with self._db() as db, db.begin():
            table = sign_in_failures
            done = await db.execute(
                sa.update(table)
                .where(table.c.key == key)
                .values(
                    failures=1 if restart else table.c.failures + 1,
                    first_at=now if restart else table.c.first_at,
                )
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                await db.execute(sa.insert(table).values(key=key, failures=1, first_at=now))

    async def forget_failures(self, *, before: datetime) -> None:
        """Drop the counts whose window began before ``before``: they no longer throttle
        anything, and made-up addresses would otherwise leave a row each for ever."""
        async with self._db() as db, db.begin():
            table = sign_in_failures
            await db.execute(sa.delete(table).where(table.c.first_at < before))

    async def clear_failures(self, key: str) -> None:
        async with self._db() as db, db.begin():
            await db.execute(sa.delete(sign_in_failures).where(sign_in_failures.c.key == key))
