"""Use cases of sign-in: create users, sign in (throttled), find the session of a request,
sign out. Everything the browser presents is checked here, on the server."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.adapters.passwords import hash_password, verify_password
from as2bus.console.adapters.repository import Repository
from as2bus.console.domain.access_audit import sign_in_entry
from as2bus.console.domain.roles import Role
from as2bus.console.domain.sessions import Session, Throttle, open_session, token_digest
from as2bus.console.domain.users import (
    User,
    UserExistsError,
    check_password,
    normalised_email,
)


class SignInError(Exception):
    """Why a sign-in was refused, in words safe to show (never which part was wrong)."""


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: Session
    by_proxy: bool = False  # single sign-on: the proxy signs out, not the console


class Accounts:
    def __init__(
        self,
        repository: Repository,
        *,
        session_lifetime: timedelta,
        idle_limit: timedelta,
        throttle: Throttle,
        address_throttle: Throttle | None = None,
        clock: Callable[[], datetime],
        trail: AuditTrail,
        csrf_key: bytes = b"",
    ) -> None:
        self._csrf_key = csrf_key or secrets.token_bytes(32)
        self._repo = repository
        self._trail = trail
        self._lifetime = session_lifetime
        self._idle_limit = idle_limit
        self._throttle = throttle
        self._address_throttle = address_throttle or throttle
        self._longest_window = max(throttle.window, self._address_throttle.window)
        self._clock = clock

    async def create_user(self, email: str, role: Role, password: str | None) -> User:
        """A new user; ``password`` None: single sign-on only (the trusted-header mode)."""
        email = normalised_email(email)
        if password is not None:
            check_password(password, email)
        user = User(
            id=uuid.uuid4(),
            email=email,
            role=role,
            password_hash=hash_password(password) if password is not None else None,
            created_at=self._clock(),
        )
        if not await self._repo.add_user(user):
            raise UserExistsError(f"there is already a user {user.email}")
        return user

    async def has_users(self) -> bool:
        return await self._repo.count_users() > 0

    async def sign_in(self, email: str, password: str, address: str) -> tuple[str, SignedIn]:
        """(the cookie's token, who signed in); SignInError when refused. ``address`` is the
        client's (behind a proxy, from its X-Forwarded-For: AS2BUS_FORWARDED_ALLOW_IPS)."""
        now = self._clock()
        # No address is longer than 320 characters (RFC 5321); what is typed beyond that
        # would only overflow the throttle's key.
        email = email.strip().lower()[:320]
        # Throttled per e-mail address *and* client address: someone guessing is slowed down,
        # while the account's owner, from their own address, still signs in. Per e-mail alone,
        # five wrong passwords from anywhere would lock an operator out for the whole window.
        # And per client address, whatever e-mail address is typed: a client trying address
        # after address (or made-up ones, each a new audit entry) is stopped too.
        limits = ((f"{email}|{address}", self._throttle),
                  (f"*|{address}", self._address_throttle))  # fmt: skip
        counts = [await self._repo.failures(key) for key, _ in limits]
        for (key, throttle), (failures, first) in zip(limits, counts, strict=True):
            if throttle.blocked(failures, first, now):
                await self._refuse(key, failures, throttle, email, address, now)
        user = await self._repo.user_by_email(email)
        # Verified even for no such user (against a dummy hash of the same cost): the time of
        # the answer must not tell which addresses have an account.
        matches = verify_password(user.password_hash if user else None, password)
        if user is None or user.disabled or not matches:
            locked = False
            for (key, throttle), (failures, first) in zip(limits, counts, strict=True):
                restart = first is None or now - first >= throttle.window
                await self._repo.record_failure(key, now, restart=restart)
                locked |= (1 if restart else failures + 1) >= throttle.attempts
            await self._repo.forget_failures(before=now - self._longest_window)
            entry = sign_in_entry("locked out" if locked else "failed", email, address, now)
            await self._trail.record(entry)
            raise SignInError("wrong e-mail address or password")
        await self._repo.clear_failures(limits[0][0])  # not the client's: others may guess
        await self._trail.record(sign_in_entry("signed in", user.email, address, now))
        return await self.open_for(user)

    async def _refuse(self, key: str, failures: int, throttle: Throttle, email: str,
                      address: str, now: datetime) -> NoReturn:  # fmt: skip
        """Refuse a sign-in tried while ``key`` waits. Only the first refusal of a wait goes
        on the audit trail (the ones after are counted, not written): a client hammering the
        form must not fill the database."""
        await self._repo.record_failure(key, now, restart=False)
        if failures == throttle.attempts:
            await self._trail.record(sign_in_entry("refused", email, address, now))
        minutes = int(throttle.window.total_seconds() // 60)
        raise SignInError(f"too many failed sign-ins: wait {minutes} minutes, then try again")

    async def open_for(self, user: User) -> tuple[str, SignedIn]:
        token, session = open_session(user.id, self._clock(), self._lifetime)
        await self._repo.add_session(session)
        return token, SignedIn(user, session)

    async def signed_in(self, token: str | None) -> SignedIn | None:
        """The session a cookie belongs to, if it is current (neither expired nor left idle)
        and its user may still sign in; its use is noted (for the idle timeout)."""
        if not token:
            return None
        now = self._clock()
        session = await self._repo.session(token_digest(token))
        if session is None or session.expired(now, self._idle_limit):
            return None
        user = await self._repo.user(session.user_id)
        if user is None or user.disabled:
            return None
        if session.stale(now):
            await self._repo.session_seen(session.digest, now)
        return SignedIn(user, session)

    async def signed_in_by_proxy(self, email: str, role: Role) -> SignedIn:
        """Someone the authenticating proxy vouches for: their user (created on first sight,
        without a password), with the role their groups give now. No cookie session: the proxy
        authenticates every request; the forms' CSRF token is derived from the user."""
        email = normalised_email(email)
        user = await self._repo.user_by_email(email)
        if user is None:
            try:
                user = await self.create_user(email, role, None)
            except UserExistsError:  # another replica created it just now
                user = await self._repo.user_by_email(email)
                assert user is not None
        if user.disabled:
            raise SignInError(f"{email} is disabled in the console")
        if user.role != role:
            await self._repo.set_role(user.id, role)
            user = replace(user, role=role)
        csrf = hmac.new(self._csrf_key, f"csrf:{user.id}".encode(), "sha256").hexdigest()
        session = Session("proxy", user.id, csrf, self._clock() + self._lifetime)
        return SignedIn(user, session, by_proxy=True)

    async def sign_out(self, who: SignedIn, token: str, address: str) -> None:
        await self._repo.drop_session(token_digest(token))
        await self._trail.record(sign_in_entry("signed out", who.user.email, address,
                                               self._clock()))  # fmt: skip
