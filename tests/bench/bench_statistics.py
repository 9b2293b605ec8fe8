"""Benchmark: every statistic answered from SQL over 1,000,000 records (target <= 500 ms each).

Run: python -m tests.bench.bench_statistics [--records N] [--boxes N] [--loans N]
(SQLite always; PostgreSQL too when ARCHIVE_TWIN_TEST_DATABASE_URL is set — that database is
emptied.) The archive is seeded as bench_records seeds it (the sample archive's bulk path),
plus loans spread over three years to people of every role. Each figure is counted
REPEATS times through server.services.statistics, for an admin (every record) and for warehouse
staff (clearance internal: the filter on classification has to be applied), and the median of
the repeats after a first warm-up is the figure that must stay within the target; the slowest
repeat is printed beside it (on this shared machine one repeat in many is slowed by others' work).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics as stats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from server.db import make_engine
from server.models.loans import Loan
from server.models.people import User
from server.services import statistics
from tests.bench.bench_records import seed

TARGET_MS = 500.0
REPEATS = 5
RECORDS_YEAR = 2020  # the sample archive's records are from 1990-2024; loans from the last 3 years
BORROWERS = (("admin", 2), ("archivist", 5), ("staff", 10), ("facilities", 3), ("borrower", 80))
FIGURES: tuple[tuple[str, str, bool], ...] = (
    *(("holdings", by, False) for by in statistics.HOLDINGS_BY),
    ("holdings", "category", True),
    ("loans", "month", False), ("loans", "month", True), ("loans", "group", True),
    ("occupancy", "room", False),
)


def add_loans(url: str, loans: int, boxes: int) -> float:
    """People of every role and `loans` loans over the last three years; returns seconds."""
    engine = make_engine(url)
    rng = random.Random(11)
    started = time.perf_counter()
    stamp = datetime.now(UTC)
    people = []
    with Session(engine) as session:
        for role, n in BORROWERS:
            for i in range(n):
                people.append(f"{role}-{i}")
                session.add(User(username=f"{role}-{i}", role=role, clearance="internal",
                                 password_hash="-", created_at=stamp))
        session.commit()
        people.append("visitor-from-outside")  # not a registered person: group "unknown"
        rows = []
        for _ in range(loans):
            lent = stamp - timedelta(days=rng.uniform(0, 3 * 365))
            back = lent + timedelta(days=rng.uniform(1, 30))
            rows.append({"box_id": rng.randrange(1, boxes + 1), "borrower": rng.choice(people),
                         "purpose": None, "due_on": (lent + timedelta(days=14)).date(),
                         "lent_at": lent, "lent_by": "staff-0", "taken_from_id": None,
                         "returned_at": back if back < stamp else None, "returned_by": None})
        for start in range(0, len(rows), 5000):
            session.execute(insert(Loan), rows[start:start + 5000])
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return round(seconds, 1)


def measure(url: str) -> dict[str, Any]:
    """Every figure for an admin and for staff: median and slowest of REPEATS, in ms."""
    engine = make_engine(url)
    this_year = datetime.now(UTC).year
    measured: dict[str, Any] = {}
    with Session(engine) as session:
        for clearance in ("secret", "internal"):
            for name, by, yearly in FIGURES:
                year = (this_year if name == "loans" else RECORDS_YEAR) if yearly else None
                times = []
                figure = None
                for attempt in range(REPEATS + 1):
                    started = time.perf_counter()
                    figure = statistics.figure(session, name, by=by, year=year,
                                               clearance=clearance)
                    if attempt:  # the first one warms the caches
                        times.append((time.perf_counter() - started) * 1000)
                    session.rollback()
                assert figure is not None
                label = f"{name} by {by}{' for one year' if yearly else ''}, {clearance}"
                measured[label] = {"median_ms": round(stats.median(times), 1),
                                   "max_ms": round(max(times), 1), "rows": len(figure.rows),
                                   "total": figure.total}
                print(f"  {label}: {measured[label]}", flush=True)
    engine.dispose()
    slowest = max(m["median_ms"] for m in measured.values())
    return {"figures": measured, "slowest_median_ms": slowest, "met": slowest <= TARGET_MS}


def bench_database(url: str, *, boxes: int, records: int, loans: int) -> dict[str, Any]:
    """Seed one database and measure it."""
    figures = seed(url, boxes, records)
    figures["loans"] = loans
    figures["loans_s"] = add_loans(url, loans, boxes)
    if url.startswith("postgresql"):
        engine = make_engine(url)
        from sqlalchemy import text

        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    figures.update(measure(url))
    return figures


def run(*, boxes: int = 100_000, records: int = 1_000_000, loans: int = 200_000,
        sqlite_path: str | None = None) -> dict:
    """Run on SQLite (and PostgreSQL when configured); print and return the figures."""
    results: dict[str, Any] = {"boxes": boxes, "records": records, "target_ms": TARGET_MS,
                               "repeats": REPEATS}
    if os.environ.get("BENCH_STATISTICS_SKIP_SQLITE") != "1":
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{sqlite_path or Path(scratch) / 'bench.sqlite3'}"
            results["sqlite"] = bench_database(url, boxes=boxes, records=records, loans=loans)
    pg = os.environ.get("ARCHIVE_TWIN_TEST_DATABASE_URL")
    if pg:
        results["postgresql"] = bench_database(pg, boxes=boxes, records=records, loans=loans)
    return results


def main() -> None:
    """Command line: sizes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boxes", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--sqlite-path", default=None, help="keep the SQLite file here")
    args = parser.parse_args()
    figures = run(boxes=args.boxes, records=args.records, loans=args.loans,
                  sqlite_path=args.sqlite_path)
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
