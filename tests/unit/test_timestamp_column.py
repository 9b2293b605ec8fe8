"""The Timestamp column's one rule: UTC in, aware UTC out, naive taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from server.models.columns import Timestamp

BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
def test_a_time_with_an_offset_is_stored_as_the_same_instant_in_utc(dialect):
    stored = Timestamp().process_bind_param(datetime(2026, 3, 1, 10, 0, tzinfo=BEIJING), dialect)
    assert stored == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0) and stored.hour == 2  # the digits SQLite keeps


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
def test_what_comes_back_is_aware_utc_and_naive_means_utc(dialect):
    column = Timestamp()
    naive = datetime(2026, 12, 1, 18, 49, 37, 708642)  # as SQLite hands back what it stored
    assert column.process_result_value(naive, dialect) == naive.replace(tzinfo=UTC)
    assert column.process_result_value(naive, dialect).isoformat().endswith("+00:00")
    back = column.process_result_value(datetime(2026, 3, 1, 10, 0, tzinfo=BEIJING), dialect)
    assert back.tzinfo is UTC and back.hour == 2
    assert column.process_bind_param(naive, dialect) == naive.replace(tzinfo=UTC)
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value(None, dialect) is None
