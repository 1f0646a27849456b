"""Roles and what each may do. A higher role includes everything a lower one may do."""

from __future__ import annotations

import enum


class Role(enum.IntEnum):
    VIEWER = 1  # reads everything an operator sees, changes nothing
    OPERATOR = 2  # also sends files and resends messages
    ADMIN = 3  # also manages users and the configuration

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: admin, operator or viewer") from None


class Action(enum.Enum):
    """Each action names the least role that may take it."""

    VIEW = Role.VIEWER
    SEND = Role.OPERATOR
    MANAGE_USERS = Role.ADMIN
    CONFIGURE = Role.ADMIN  # stations, partners, partnerships, certificates; the audit trail


def may(role: Role, action: Action) -> bool:
    return role >= action.value
