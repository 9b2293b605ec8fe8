"""Column types shared by the tables: aware timestamps and portable JSON; a saved row's key."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

Timestamp = DateTime(timezone=True)
Json = JSON().with_variant(JSONB(), "postgresql")


class _Keyed(Protocol):
    id: int | None


def saved_id(row: _Keyed) -> int:
    """The row's primary key: None until the session flushes the row, an int ever after."""
    if row.id is None:
        # A bug, not bad input: the caller used a new row before flushing it.
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id
