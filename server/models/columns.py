"""Column types shared by the tables: aware timestamps and portable JSON; a saved row's key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from server.clock import as_utc


class Timestamp(TypeDecorator[datetime]):
    """A point in time, stored as UTC and always read back aware, in UTC, on every database.

    SQLite has no time zones: it keeps the wall-clock digits of whatever it is given and
    returns them naive, so a `+08:00` device time would be stored eight hours off and every
    read would lose its offset. Converting on the way in and on the way out gives both
    databases the same values. A naive datetime is taken as UTC in both directions, the
    rule existing SQLite files were written under.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The value as UTC before it reaches the database (also in comparisons)."""
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored value as an aware UTC datetime."""
        return as_utc(value)


Json = JSON().with_variant(JSONB(), "postgresql")


class _Keyed(Protocol):
    id: int | None


def saved_id(row: _Keyed) -> int:
    """The row's primary key: None until the session flushes the row, an int ever after."""
    if row.id is None:
        # A bug, not bad input: the caller used a new row before flushing it.
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def saved_ids(ids: Iterable[int | None]) -> list[int]:
    """Primary keys selected from the database, as the ints they always are once saved."""
    found = []
    for key in ids:
        if key is None:
            raise RuntimeError("a key read back from the database is None")
        found.append(key)
    return found
