"""Domain errors; the API maps them to 4xx answers with the message as `detail`."""

from __future__ import annotations


class DomainError(Exception):
    """Something the caller asked for that the archive cannot do, said so a person can act."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The code or name points at nothing (404)."""


class Conflict(DomainError):
    """It clashes with the archive's state: a full slot, a duplicate code (409)."""


class Invalid(DomainError):
    """The input can never be right as given (422)."""


class Forbidden(DomainError):
    """The person may not do or see this (403)."""
