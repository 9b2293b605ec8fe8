"""Statistics (统计): holdings, loans and occupancy as JSON, CSV and XLSX."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from server.api.deps import Mover, SessionDep
from server.services import statistics

router = APIRouter(tags=["statistics"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Name = Annotated[str, Path(description="holdings, loans or occupancy",
                           examples=["holdings"])]
By = Annotated[str | None, Query(
    description="holdings: fonds, category, year, classification, retention, status; "
                "loans: month, group; occupancy: room")]
Year = Annotated[int | None, Query(ge=1000, le=2999,
                                   description="holdings: records of this year; "
                                               "loans: lent during this year")]


class FigurePublic(BaseModel):
    name: str
    by: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    totals: dict[str, int]


def _figure(session, name: str, by: str | None, year: int | None, clearance: str):
    return statistics.figure(session, name, by=by, year=year, clearance=clearance)


@router.get("/api/statistics/{name}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def as_csv(name: Name, session: SessionDep, user: Mover, by: By = None, year: Year = None):
    """The figure as CSV (UTF-8 with BOM): a header line, one line per row, a total line."""
    figure = _figure(session, name, by, year, user.clearance)
    return Response(statistics.to_csv(statistics.table(figure)), media_type="text/csv",
                    headers=_attachment(figure, "csv"))


@router.get("/api/statistics/{name}.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}})
def as_xlsx(name: Name, session: SessionDep, user: Mover, by: By = None, year: Year = None):
    """The figure as an Excel workbook (one sheet, the same lines as the CSV)."""
    figure = _figure(session, name, by, year, user.clearance)
    body = statistics.to_xlsx(statistics.table(figure), title=f"{figure.name} {figure.by}")
    return Response(body, media_type=XLSX, headers=_attachment(figure, "xlsx"))


@router.get("/api/statistics/{name}", response_model=FigurePublic)
def read(name: Name, session: SessionDep, user: Mover, by: By = None, year: Year = None):
    """One figure: `rows` of `{"key", "count", ...}` and their `total`.

    Counts of records cover only what your clearance may see.
    """
    return _figure(session, name, by, year, user.clearance).as_json()


def _attachment(figure: statistics.Figure, ext: str) -> dict[str, str]:
    return {"Content-Disposition":
            f'attachment; filename="statistics-{figure.name}-{figure.by}.{ext}"'}
