"""A signed-in browser: the cookie holds a random token, the server keeps its SHA-256 only
(a stolen database gives no usable cookie) with the user, the CSRF token for its forms, its
expiry and when it was last used (a session left idle ends sooner)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

#: How often a session's last use is written down (so the idle timeout is this precise).
LAST_SEEN_EVERY = timedelta(minutes=1)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    digest: str
    user_id: uuid.UUID
    csrf: str
    expires_at: datetime
    last_seen: datetime | None = None  # None: made before the console kept it

    def expired(self, now: datetime, idle_limit: timedelta | None = None) -> bool:
        """Past its expiry, or unused for ``idle_limit``."""
        if now >= self.expires_at:
            return True
        return (
            idle_limit is not None
            and self.last_seen is not None
            and (now - self.last_seen >= idle_limit)
        )

    def stale(self, now: datetime) -> bool:
        """Its last use is worth writing down again: once a minute at most, not per request."""
        return self.last_seen is None or now - self.last_seen >= LAST_SEEN_EVERY

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf)


def open_session(user_id: uuid.UUID, now: datetime, lifetime: timedelta) -> tuple[str, Session]:
    """A new session: (the cookie's token, what the server keeps)."""
    token = new_token()
    return token, Session(token_digest(token), user_id, new_token(), now + lifetime, now)


@dataclass(frozen=True)
class Throttle:
    """Sign-in attempts allowed per account and address in a window: guessing is slow."""

    attempts: int
    window: timedelta

    def blocked(self, failures: int, first_failure: datetime | None, now: datetime) -> bool:
        if first_failure is None or now - first_failure >= self.window:
            return False
        return failures >= self.attempts
