"""Indexes the statistics (server/services/statistics.py) are counted from.

Each holdings breakdown is a covering index that starts with the classification and ends
with the year, so a count within a clearance (and within a year) reads only the index ranges
of the levels it may see, never the records' rows (titles and descriptions make those wide).
They are chosen so that SQLite takes them even before ANALYZE has given it statistics. Loans are counted from one index over when they were lent. Measured in
tests/bench/bench_statistics.py; kept here so the tables' own modules stay as they are.
"""

from __future__ import annotations

from sqlalchemy import Index

from server.models.holdings import Record
from server.models.loans import Loan

_records = Record.__table__.c  # type: ignore[attr-defined]
_loans = Loan.__table__.c  # type: ignore[attr-defined]

INDEXES = (
    Index("ix_records_stat_fonds", _records.classification, _records.fonds, _records.year),
    Index("ix_records_stat_series", _records.classification, _records.series, _records.year),
    Index("ix_records_stat_year", _records.classification, _records.year),
    Index("ix_records_stat_retention", _records.classification, _records.retention,
          _records.year),
    Index("ix_records_stat_box", _records.classification, _records.box_id, _records.year),
    Index("ix_loans_stat_lent", _loans.lent_at, _loans.borrower, _loans.returned_at),
)
