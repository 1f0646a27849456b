"""Console users: an e-mail address (what the console shows at the top right), a role, and a
password that the console only ever keeps as an argon2 hash."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from as2bus.console.domain.roles import Role

MIN_PASSWORD_LENGTH = 12
#: As config-svc's e-mail addresses: a dot in the domain (``a@b`` is a typo, not an address).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Passwords of 12 characters or more that lists of breached passwords (NIST SP 800-63B's
#: "commonly used") lead with; compared without case. Shorter ones fail the length already.
COMMON_PASSWORDS = frozenset({
    "123456789012", "1234567890123", "12345678901234", "123456789012345", "1234567890qwe",
    "password1234", "password12345", "password123!", "password@123", "passw0rd1234",
    "p@ssw0rd1234", "p@ssword1234", "qwerty123456", "qwertyuiop123", "qwertyuiopasdfgh",
    "qwertyuiopasdfghjkl", "1q2w3e4r5t6y", "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "q1w2e3r4t5y6",
    "zaq12wsxcde3", "abcdefghijkl", "abcdefghijklmnop", "abc123abc123", "iloveyou1234",
    "letmein12345", "welcome12345", "welcome@1234", "changeme1234", "administrator",
    "administrator1", "admin1234567", "adminadmin12", "football1234", "baseball1234",
    "princess1234", "sunshine1234", "superman1234", "trustno1trustno1", "monkey123456",
    "dragon123456", "correcthorsebatterystaple", "correct horse battery staple",
    "as2bus-admin", "as2busadmin1",
})  # fmt: skip
#: A local part this long or longer may not appear in the password ("ann" in "ann2024!...");
#: a shorter one ("a@example.com") would rule out too many good passwords.
_LOCAL_PART_CHECKED = 3


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


def check_password(password: str, email: str) -> None:
    """A password someone could not guess from the address or a list: UserError says why."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise UserError("a password cannot be only spaces")
    if len(set(password)) == 1:
        raise UserError("a password cannot be one character repeated")
    typed, address = password.strip().lower(), email.strip().lower()
    local_part = address.partition("@")[0]
    if typed == address or (len(local_part) >= _LOCAL_PART_CHECKED and local_part in typed):
        raise UserError(
            "a password cannot contain the user's e-mail address or the part before its @"
        )
    if typed in COMMON_PASSWORDS:
        raise UserError("that password is one of the most common ones; choose another")
