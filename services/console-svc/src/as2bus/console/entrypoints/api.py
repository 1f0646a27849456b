"""The users API, for the CLI (``as2bus user ...``) and automation: admin API token only.
Browsers never use it: pages act through their session."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from as2bus.console.domain.roles import Role
from as2bus.console.domain.users import User, UserError, UserExistsError
from as2bus.console.user_admin import UserAdmin, UserNotFoundError
from as2bus.console.wiring import wiring
from as2bus.shared.audit import current_actor
from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
admin = routers[Scope.ADMIN]


def _users(request: Request) -> UserAdmin:
    return wiring.get(request).user_admin


class UserCreate(BaseModel):
    email: str = Field(description="The user's e-mail address: what they sign in with")
    role: str = Field(description="admin, operator or viewer")
    password: str | None = Field(
        default=None,
        description="At least 12 characters, not guessable (docs/console.md); left out: one "
        "is generated and returned once",
    )
    sso_only: bool = Field(
        default=False, description="No password: signs in through the proxy (trusted header)"
    )


class UserCreated(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    password: str | None = Field(description="The generated password, shown this once")


class UserOut(BaseModel):
    email: str
    role: str
    status: str = Field(description="enabled or disabled")
    sign_in: str = Field(description="password, or sso (through the proxy only)")
    created_at: datetime


class UserChange(BaseModel):
    role: str | None = Field(default=None, description="admin, operator or viewer")
    disabled: bool | None = Field(default=None, description="true ends the user's sessions")


class PasswordReset(BaseModel):
    password: str | None = Field(
        default=None,
        description="At least 12 characters, not guessable (docs/console.md); left out: one is "
        "generated",
    )


class PasswordSet(BaseModel):
    email: str
    password: str | None = Field(description="The generated password, shown this once")


def _out(user: User) -> UserOut:
    return UserOut(email=user.email, role=user.role.label,
                   status="disabled" if user.disabled else "enabled",
                   sign_in="password" if user.password_hash else "sso",
                   created_at=user.created_at)  # fmt: skip


def _actor() -> str:
    return current_actor() or "API"


@admin.get("/users", tags=["users"])
async def list_users(users: Annotated[UserAdmin, Depends(_users)]) -> list[UserOut]:
    return [_out(u) for u in await users.users()]


@admin.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
async def create_user(
    body: UserCreate, users: Annotated[UserAdmin, Depends(_users)]
) -> UserCreated:
    try:
        user, generated = await users.create(
            body.email, Role.named(body.role), body.password, actor=_actor(),
            sso_only=body.sso_only,
        )  # fmt: skip
    except UserExistsError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(err)) from None
    except (UserError, ValueError) as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from None
    return UserCreated(id=user.id, email=user.email, role=user.role.label,
                       created_at=user.created_at, password=generated)  # fmt: skip


@admin.patch("/users/{email}", tags=["users"])
async def change_user(
    email: str, body: UserChange, users: Annotated[UserAdmin, Depends(_users)]
) -> UserOut:
    try:
        role = Role.named(body.role) if body.role is not None else None
        return _out(await users.change(email, actor=_actor(), role=role, disabled=body.disabled))
    except UserNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from None
    except (UserError, ValueError) as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from None


@admin.post("/users/{email}/password", tags=["users"])
async def reset_password(
    email: str, body: PasswordReset, users: Annotated[UserAdmin, Depends(_users)]
) -> PasswordSet:
    """A new password (generated unless given); the user's sessions end."""
    try:
        user, generated = await users.reset_password(email, body.password, actor=_actor())
    except UserNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from None
    except UserError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from None
    return PasswordSet(email=user.email, password=generated)
