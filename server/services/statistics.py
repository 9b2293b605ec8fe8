"""Statistics (统计): holdings, lending and occupancy, each counted by the database.

One home for every figure the statistics pages, the API, the exports and the annual report
show. Each figure is one SQL GROUP BY (no loop over records in Python), and every count of
records covers only what the caller's clearance may see: a record above it is left out of
every count as if it did not exist.

A figure is a list of rows `{"key", "count", ...}` plus a total. Keys are the stored values
(e.g. `30y`, `on_shelf`, `2024-03`); the pages put them in words. The known values of each
dimension are tuples below, in the order they are shown; a value nobody listed yet (a new
classification level, a new box status) is still counted and shown as it is, after them.

Extending: add a `FigureSpec` to FIGURES (see `occupancy` for the shape). Two are waiting
for other parts of the archive:
- lending requests: when `server/models/requests.py` lands, count them in `_loans` beside the
  loans (a `requests` column from the same GROUP BY over the requests table) — see REQUESTS_HOOK;
- climate time in band: the climate roll-ups register a `climate` figure (rows per room with
  `count` = hours in band, `out_of_band` hours) — see CLIMATE_HOOK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, func, literal
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from server.models.holdings import CLASSIFICATIONS, Box, BoxStatus, Record
from server.models.loans import Loan
from server.models.people import ROLES, User
from server.models.places import Location
from server.services.errors import Invalid, NotFound
from server.services.people import clearance_levels

# The known values of each dimension, in the order shown. Unknown values follow, as they are.
RETENTIONS: tuple[str, ...] = ("permanent", "30y", "10y", "custom")
BOX_STATUSES: tuple[str, ...] = (*(s.value for s in BoxStatus), "unboxed")
BORROWER_GROUPS: tuple[str, ...] = (*ROLES, "unknown")
HOLDINGS_BY: tuple[str, ...] = ("fonds", "category", "year", "classification", "retention",
                                "status")
LOANS_BY: tuple[str, ...] = ("month", "group")
# Where lending requests will be counted once they exist (see the module docstring).
REQUESTS_HOOK = "requests"
CLIMATE_HOOK = "climate"


@dataclass(frozen=True)
class Figure:
    """One statistic: its rows (key, count and the figure's other columns) and their total."""

    name: str
    by: str
    rows: list[dict[str, Any]]
    total: int
    columns: tuple[str, ...] = ("key", "count")
    # Totals of the other numeric columns (e.g. capacity), for the table's last line.
    totals: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What GET /api/statistics/{name} answers."""
        return {"name": self.name, "by": self.by, "columns": list(self.columns),
                "rows": self.rows, "total": self.total, "totals": self.totals}


@dataclass(frozen=True)
class FigureSpec:
    """A figure the archive can count: which breakdowns it has and how it is counted."""

    name: str
    by: tuple[str, ...]
    count: Callable[..., Figure]


def _ordered(rows: Sequence[tuple[Any, ...]], known: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows (key first) in the order of `known`; other keys after them, sorted; None last."""
    rank = {value: i for i, value in enumerate(known)}
    return sorted(rows, key=lambda r: (r[0] is None, rank.get(r[0], len(rank)), str(r[0])))


def _visible(clearance: str):
    return col(Record.classification).in_(clearance_levels(clearance))


def holdings(session: Session, *, by: str = "fonds", clearance: str,
             year: int | None = None) -> Figure:
    """Records by fonds, category (门类), year, classification, retention or box status.

    Only records the clearance covers are counted. `year` narrows to the records of one year.
    """
    if by not in HOLDINGS_BY:
        raise Invalid("holdings can be counted by {holdings_by}, not {by!r}",
                      holdings_by=', '.join(HOLDINGS_BY), by=by,
                      field="by")
    visible = _visible(clearance)
    if year is not None:
        visible = and_(visible, col(Record.year) == year)
    known: Sequence[Any] = {"classification": CLASSIFICATIONS,
                            "retention": RETENTIONS}.get(by, ())
    key: Any
    query: Any
    if by == "status":
        return _holdings_by_status(session, visible)
    elif by == "classification":
        key = col(Record.classification)
        query = select(key, func.count()).where(visible).group_by(key)
    else:
        column = {"fonds": col(Record.fonds), "category": col(Record.series),
                  "year": col(Record.year), "retention": col(Record.retention)}[by]
        # By classification and the dimension first: an ordered walk of the covering index
        # (server/models/statistics.py); then the few groups summed over the levels.
        inner = (select(col(Record.classification).label("level"), column.label("value"),
                        func.count().label("n"))
                 .where(visible).group_by(col(Record.classification), column).subquery())
        query = select(inner.c.value, func.sum(inner.c.n)).group_by(inner.c.value)
    found = session.exec(query).all()
    if by == "year":
        ordered = sorted(found, key=lambda r: (r[0] is None, r[0] or 0))
    else:
        ordered = _ordered(found, known)
    rows: list[dict[str, Any]] = [{"key": k, "count": int(n)} for k, n in ordered]
    return Figure("holdings", by, rows, sum(r["count"] for r in rows))


def _holdings_by_status(session: Session, visible: Any) -> Figure:
    """Records by the status of their box (`unboxed`: in no box).

    Nearly every record lies in a box on its shelf, and counting those record by record is what
    would be slow. So the records in boxes of every other status are counted box by box (few
    boxes, found through the status index; one index count per box), the records in no box
    are counted directly, and `on_shelf` is what remains of all visible records.
    """
    shelved = BoxStatus.ON_SHELF.value
    in_box = (select(func.count()).select_from(Record)
              .where(col(Record.box_id) == col(Box.id), visible)
              .correlate(Box).scalar_subquery())
    per_box = (select(col(Box.status).label("status"), in_box.label("n"))
               .where(col(Box.status) != shelved).subquery())
    others = session.exec(select(per_box.c.status, func.sum(per_box.c.n))
                          .group_by(per_box.c.status)).all()
    everything, unboxed = session.exec(
        select(func.count(), func.sum(case((col(Record.box_id).is_(None), 1), else_=0)))
        .select_from(Record).where(visible)
    ).one()
    counted = {status: int(n or 0) for status, n in others}
    counted["unboxed"] = int(unboxed or 0)
    counted[shelved] = int(everything) - sum(counted.values())
    ordered = _ordered([(k, n) for k, n in counted.items() if n], BOX_STATUSES)
    rows: list[dict[str, Any]] = [{"key": k, "count": n} for k, n in ordered]
    return Figure("holdings", "status", rows, int(everything))


def _month(session: Session):
    """The UTC month (YYYY-MM) of a loan's lent_at, as the database computes it."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", col(Loan.lent_at)), "YYYY-MM")
    # SQLite keeps timestamps as UTC text "YYYY-MM-DD HH:MM:SS…" (server.models.columns).
    return func.substr(col(Loan.lent_at), 1, 7, type_=String)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def loans(session: Session, *, by: str = "month", clearance: str,
          year: int | None = None) -> Figure:
    """Loans (利用统计) per month lent or per borrower group (the borrower's role).

    `count` is the loans made, `open` those still out. Loans are of boxes, which carry no
    classification of their own, so they are counted for every clearance that may see
    /api/loans. Lending requests join here once they exist (REQUESTS_HOOK).
    """
    del clearance  # boxes are not classified; kept so every figure is called the same way
    if by not in LOANS_BY:
        raise Invalid("loans can be counted by {loans_by}, not {by!r}",
                      loans_by=', '.join(LOANS_BY), by=by, field="by")
    still_out = func.sum(case((col(Loan.returned_at).is_(None), 1), else_=0))
    lent: Any = col(Loan.lent_at).is_not(None)
    if year is not None:
        since, until = _year_bounds(year)
        lent = and_(col(Loan.lent_at) >= since, col(Loan.lent_at) < until)
    if by == "month":
        key: Any = _month(session)
        query: Any = select(key, func.count(), still_out).where(lent).group_by(key)
        known: Sequence[Any] = ()
    else:
        # Loans per borrower first (a walk of the lent_at index), then people by role.
        per_person = (select(col(Loan.borrower).label("borrower"), func.count().label("n"),
                             still_out.label("still_out"))
                      .where(lent).group_by(col(Loan.borrower)).subquery())
        key = func.coalesce(col(User.role), literal("unknown"))
        query = (select(key, func.sum(per_person.c.n), func.sum(per_person.c.still_out))
                 .select_from(per_person)
                 .outerjoin(User, col(User.username) == per_person.c.borrower).group_by(key))
        known = BORROWER_GROUPS
    found = session.exec(query).all()
    if by == "month":
        ordered = sorted(found, key=lambda r: str(r[0]))
        if year is not None:  # the twelve months of the year, quiet ones as 0
            counted = {r[0]: r for r in found}
            ordered = [counted.get(m, (m, 0, 0)) for m in (f"{year}-{n:02d}" for n in range(1, 13))]
    else:
        ordered = _ordered(found, known)
    rows: list[dict[str, Any]] = [{"key": k, "count": int(n), "open": int(o or 0)}
                                  for k, n, o in ordered]
    return Figure("loans", by, rows, sum(r["count"] for r in rows), ("key", "count", "open"),
                  {"open": sum(r["open"] for r in rows)})


def _room_of(session: Session) -> Any:
    """The id of the room a location lies in: the first id of its lineage "/room/unit/…/"."""
    lineage = col(Location.lineage)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.split_part(lineage, "/", 2), Integer)
    rest = func.substr(lineage, 2)
    return cast(func.substr(rest, 1, func.instr(rest, "/") - 1), Integer)


def occupancy(session: Session, *, by: str = "room", clearance: str,
              year: int | None = None) -> Figure:
    """Boxes in each room against the capacity of its slots, and what is free.

    `count` is the boxes anywhere in the room now, `capacity` the sum of its slots'
    capacities, `free` what is left (never below 0), `percent` how full (null without slots).
    """
    del clearance, year  # boxes and places carry no classification; occupancy is now
    if by != "room":
        raise Invalid("occupancy can be counted by room, not {by!r}", by=by, field="by")
    room_of = _room_of(session)
    capacity = (
        select(room_of.label("room_id"), func.sum(col(Location.capacity)).label("capacity"))
        .where(Location.kind == "slot").group_by(room_of).subquery()
    )
    per_place = (
        select(col(Box.location_id).label("location_id"), func.count().label("n"))
        .where(col(Box.location_id).is_not(None)).group_by(col(Box.location_id)).subquery()
    )
    boxes = (
        select(room_of.label("room_id"), func.sum(per_place.c.n).label("boxes"))
        .select_from(per_place).join(Location, col(Location.id) == per_place.c.location_id)
        .group_by(room_of).subquery()
    )
    room = aliased(Location)
    found = session.exec(
        select(room.code, room.name, func.coalesce(boxes.c.boxes, 0),
               func.coalesce(capacity.c.capacity, 0))
        .select_from(room)
        .outerjoin(boxes, boxes.c.room_id == col(room.id))
        .outerjoin(capacity, capacity.c.room_id == col(room.id))
        .where(room.kind == "room").order_by(room.path)
    ).all()
    rows: list[dict[str, Any]] = []
    for code, name, n, cap in found:  # one row per room, not per box
        n, cap = int(n), int(cap)
        rows.append({"key": code, "name": name, "count": n, "capacity": cap,
                     "free": max(cap - n, 0),
                     "percent": round(100 * n / cap, 1) if cap else None})
    totals = {k: sum(r[k] for r in rows) for k in ("capacity", "free")}
    return Figure("occupancy", "room", rows, sum(r["count"] for r in rows),
                  ("key", "name", "count", "capacity", "free", "percent"), totals)


FIGURES: dict[str, FigureSpec] = {
    "holdings": FigureSpec("holdings", HOLDINGS_BY, holdings),
    "loans": FigureSpec("loans", LOANS_BY, loans),
    "occupancy": FigureSpec("occupancy", ("room",), occupancy),
}


def figure(session: Session, name: str, *, by: str | None = None, clearance: str,
           year: int | None = None) -> Figure:
    """The figure of this name, counted by `by` (its first breakdown when not given)."""
    spec = FIGURES.get(name)
    if spec is None:
        raise NotFound("there is no statistic {name!r}; there are: {figures}",
                       name=name, figures=', '.join(FIGURES))
    return spec.count(session, by=by or spec.by[0], clearance=clearance, year=year)


def annual(session: Session, *, year: int, clearance: str) -> list[Figure]:
    """What the annual report (年报) for a year shows, in order.

    Holdings are the whole archive as it stands (by category, year, retention, classification)
    plus the records of that year by category; loans are those lent during the year.
    """
    return [
        holdings(session, by="category", clearance=clearance),
        holdings(session, by="retention", clearance=clearance),
        holdings(session, by="classification", clearance=clearance),
        holdings(session, by="category", clearance=clearance, year=year),
        loans(session, by="month", clearance=clearance, year=year),
        loans(session, by="group", clearance=clearance, year=year),
        occupancy(session, clearance=clearance),
    ]


# ---------------------------------------------------------------- exports


def table(figure: Figure, *, headers: dict[str, str] | None = None,
          words: Callable[[Any], str] | None = None) -> list[list[Any]]:
    """The figure as a table: a header line, one line per row, a total line.

    headers names the columns (the column names when not given); words, when given, adds a
    second column with the key in words (the page's language).
    """
    names = headers or {}
    head = [names.get(c, c) for c in figure.columns]
    if words is not None:
        head.insert(1, names.get("label", "label"))
    lines: list[list[Any]] = [head]
    for row in figure.rows:
        line = [row.get(c) for c in figure.columns]
        if words is not None:
            line.insert(1, words(row.get("key")))
        lines.append(line)
    total: list[Any] = [names.get("total", "total")]
    for c in figure.columns[1:]:
        total.append(figure.total if c == "count" else figure.totals.get(c))
    if words is not None:
        total.insert(1, None)
    lines.append(total)
    return lines


def to_csv(lines: list[list[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so spreadsheet programs read Chinese right."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in lines:
        writer.writerow(["" if v is None else v for v in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(lines: list[list[Any]], *, title: str) -> bytes:
    """One worksheet with the table, the header line bold and frozen."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    if sheet is None:  # a new workbook always has one sheet
        raise RuntimeError("openpyxl made a workbook without a sheet")
    # Excel refuses sheet titles over 31 characters or with []:*?/\
    sheet.title = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "statistics"
    for line in lines:
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
