"""Console users: an e-mail address (what the console shows at the top right), a role, and a
password that the console only ever keeps as an argon2 hash."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from as2bus.console.domain.roles import Role

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why, for a person."""


class UserExistsError(UserError):
    pass


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    role: Role
    password_hash: str | None  # None: signs in through the proxy (single sign-on) only
    created_at: datetime
    disabled: bool = False


def normalised_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise UserError(f"{email!r} is not an e-mail address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
