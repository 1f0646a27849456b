"""The users API, for the CLI (``as2bus user create``) and automation: admin API token only.
Browsers never use it: pages act through their session."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from as2bus.console.accounts import Accounts
from as2bus.console.domain.roles import Role
from as2bus.console.domain.users import UserError, UserExistsError
from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
admin = routers[Scope.ADMIN]


def _accounts(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


class UserCreate(BaseModel):
    email: str = Field(description="The user's e-mail address: what they sign in with")
    role: str = Field(description="admin, operator or viewer")
    password: str | None = Field(
        default=None,
        description="At least 12 characters; left out: one is generated and returned once",
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


@admin.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
async def create_user(
    body: UserCreate, accounts: Annotated[Accounts, Depends(_accounts)]
) -> UserCreated:
    generated = None
    password = body.password
    if password is None and not body.sso_only:
        password = generated = secrets.token_urlsafe(15)
    try:
        user = await accounts.create_user(body.email, Role.named(body.role), password)
    except UserExistsError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(err)) from None
    except (UserError, ValueError) as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from None
    return UserCreated(id=user.id, email=user.email, role=user.role.label,
                       created_at=user.created_at, password=generated)  # fmt: skip
