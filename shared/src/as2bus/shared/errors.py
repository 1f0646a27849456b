"""Errors a use case reports to its caller, shared by every service's domain layer.

DomainError
├── NotFoundError          → HTTP 404
└── InvalidFieldsError     → HTTP 422, each error naming its field
    └── ConflictError      → HTTP 409 (clashes with stored state)

An error with a ``code`` (``partnership_not_found``) says what is wrong and what to do in one
whole sentence; the API returns the code beside it as ``error_code`` and clients show the
sentence alone. Without a code the message completes "<field>: ..." (an older style).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str | None = None


class DomainError(Exception):
    """Base of the errors a use case reports to its caller."""


class NotFoundError(DomainError):
    def __init__(self, entity: str, ref: object, sentence: str | None = None) -> None:
        super().__init__(sentence or f"{entity} {ref} not found")
        self.entity = entity
        self.code = f"{entity}_not_found"


class InvalidFieldsError(DomainError):
    """The request is well-formed but breaks a rule; each error names its field."""

    def __init__(self, *errors: FieldError) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


class ConflictError(InvalidFieldsError):
    """The request clashes with stored state (a duplicate, a delete still in use)."""


def sentence_error(code: str, sentence: str) -> PydanticCustomError:
    """A request-validation error (raised in a pydantic validator) that is a whole sentence:
    the API returns ``code`` beside it as ``error_code``, as for a `FieldError` with a code."""
    return PydanticCustomError(
        code, sentence.replace("{", "{{").replace("}", "}}"), {"error_code": code}
    )
