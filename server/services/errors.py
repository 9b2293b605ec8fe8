"""Domain errors; the API maps them to 4xx answers with the message as `detail`.

An error carries a message key and its values, as Home Assistant's translation keys: the
key is the English text with `{name}` placeholders (the gettext msgid of the server
catalog), the values are `params`. `message` is that English text filled in, for logs, the
CLI and English callers; server/services/translations.py says it in another language.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Something the caller asked for that the archive cannot do, said so a person can act."""

    def __init__(self, template: str, *, field: str | None = None, **params: Any) -> None:
        # Without values the template is the text itself: it may hold braces of its own.
        message = template.format(**params) if params else template
        super().__init__(message)
        self.template = template
        self.params = params
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
