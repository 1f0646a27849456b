"""Password hashing with argon2id (argon2-cffi, the maintained binding), at its defaults."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Verified against when the e-mail is unknown, so an unknown user takes as long as a known
#: one (the response time does not tell which accounts exist).
_DUMMY = _hasher.hash("no such user: constant-time sign-in")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
