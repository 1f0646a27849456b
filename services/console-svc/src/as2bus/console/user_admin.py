"""Use cases of user management (admins, in the console or with ``as2bus user ...``): list,
create, change a role, disable or enable, reset a password. Each change goes into the audit
trail with who made it; a password never does."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from as2bus.console.accounts import Accounts
from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.adapters.passwords import hash_password
from as2bus.console.adapters.repository import Repository
from as2bus.console.domain.audit import AuditEntry
from as2bus.console.domain.roles import Role
from as2bus.console.domain.users import User, UserError, check_password, normalised_email


class UserNotFoundError(UserError):
    pass


class UserAdmin:
    def __init__(
        self,
        accounts: Accounts,
        repository: Repository,
        trail: AuditTrail,
        clock: Callable[[], datetime],
    ) -> None:
        self._accounts = accounts
        self._repo = repository
        self._trail = trail
        self._clock = clock

    async def users(self) -> list[User]:
        return await self._repo.all_users()

    async def create(
        self, email: str, role: Role, password: str | None, *, actor: str, sso_only: bool = False
    ) -> tuple[User, str | None]:
        """The new user and, when no password was given and it is not single-sign-on only, the
        generated one (shown once)."""
        generated = None
        if password is None and not sso_only:
            password = generated = _generated_password(email)
        user = await self._accounts.create_user(email, role, password)
        await self._record(actor, "created", user.email, {"role": {"from": None, "to": role.label}})
        return user, generated

    async def change(
        self, email: str, *, actor: str, role: Role | None = None, disabled: bool | None = None
    ) -> User:
        user = await self._user(email)
        new = replace(
            user,
            role=role if role is not None else user.role,
            disabled=disabled if disabled is not None else user.disabled,
        )
        await self._keep_an_admin(user, new)
        changes: dict[str, Any] = {}
        if new.role != user.role:
            changes["role"] = {"from": user.role.label, "to": new.role.label}
        if new.disabled != user.disabled:
            changes["status"] = {"from": _status(user), "to": _status(new)}
        if changes:
            await self._repo.save_user(new)
            await self._record(actor, "updated", user.email, changes)
        return new

    async def reset_password(
        self, email: str, password: str | None, *, actor: str
    ) -> tuple[User, str | None]:
        """A new password (generated when none is given, and returned to be shown once); the
        user's sessions end."""
        user = await self._user(email)
        generated = None
        if password is None:
            password = generated = _generated_password(user.email)
        check_password(password, user.email)
        new = replace(user, password_hash=hash_password(password))
        await self._repo.save_user(new)
        await self._record(actor, "updated", user.email, {"secret password": {"to": "replaced"}})
        return new, generated

    async def _user(self, email: str) -> User:
        user = await self._repo.user_by_email(normalised_email(email))
        if user is None:
            raise UserNotFoundError(f"there is no user {email.strip().lower()}")
        return user

    async def _keep_an_admin(self, old: User, new: User) -> None:
        """Nobody could manage users any more without an enabled admin."""
        was_admin = old.role is Role.ADMIN and not old.disabled
        still_admin = new.role is Role.ADMIN and not new.disabled
        if was_admin and not still_admin:
            admins = [u for u in await self._repo.all_users() if u.role is Role.ADMIN]
            if sum(1 for u in admins if not u.disabled) <= 1:
                raise UserError(f"{old.email} is the last enabled admin: make another one first")

    async def _record(self, actor: str, action: str, email: str, changes: dict[str, Any]) -> None:
        entry = AuditEntry(uuid.uuid4(), self._clock(), actor, action, "user", email, changes)
        await self._trail.record(entry)


def _generated_password(email: str) -> str:
    """A random password that passes the rules (a random one rarely holds the address's name
    part, but may)."""
    while True:
        password = secrets.token_urlsafe(15)
        try:
            check_password(password, email)
        except UserError:
            continue
        return password


def _status(user: User) -> str:
    return "disabled" if user.disabled else "enabled"
