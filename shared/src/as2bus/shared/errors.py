"""Errors a use case reports to its caller, shared by every service's domain layer.

DomainError
├── NotFoundError          → HTTP 404
└── InvalidFieldsError     → HTTP 422, each error naming its field
    └── ConflictError      → HTTP 409 (clashes with stored state)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of the errors a use case reports to its caller."""


class NotFoundError(DomainError):
    def __init__(self, entity: str, ref: object) -> None:
        super().__init__(f"{entity} {ref} not found")
        self.entity = entity


class InvalidFieldsError(DomainError):
    """The request is well-formed but breaks a rule; each error names its field."""

    def __init__(self, *errors: FieldError) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


class ConflictError(InvalidFieldsError):
    """The request clashes with stored state (a duplicate, a delete still in use)."""
