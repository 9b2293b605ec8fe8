"""Stocktakes: count a location subtree, review what was found where, apply it, export it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import Response

from server.api.deps import Limit, Mover, Offset, RowId, SchemeDep, SessionDep
from server.api.paging import Page
from server.models.stocktakes import (
    ScansCounted,
    StocktakeApplied,
    StocktakeCreate,
    StocktakePublic,
    StocktakeScans,
    StocktakeStarted,
)
from server.services import scan, stocktake
from server.services.errors import Invalid

router = APIRouter(prefix="/api/stocktakes", tags=["stocktakes"])

_NOT_OPEN: dict[int | str, dict[str, Any]] = {409: {"description": "the stocktake is applied or cancelled (`detail` says which)"}}


@router.post("", response_model=StocktakeStarted, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the device already counts another stocktake"},
                        422: {"description": "the scope names no location, or the device is "
                                             "not a registered scanner or handheld reader"}})
def start(data: StocktakeCreate, session: SessionDep, user: Mover):
    """Open a stocktake of a location and all inside it; `expected` boxes the twin has there.

    With `device`, the handheld's scans (MQTT, serial, POST /api/scan with `device`) and RFID
    reads count here while the stocktake is open, and move nothing.
    """
    opened = stocktake.start(session, data, actor=user.username)
    scope = stocktake.scope_of(session, opened)
    session.commit()
    return StocktakeStarted(id=opened.id or 0, state=opened.state, scope=scope.code,
                            scope_path=scope.path, device=opened.device, expected=opened.expected)


@router.get("", response_model=Page[StocktakePublic])
def list_(session: SessionDep, user: Mover, state: str | None = None, limit: Limit = 50,
          offset: Offset = 0):
    """Stocktakes, newest first; `state` open, applied or cancelled."""
    rows, total = stocktake.list_stocktakes(session, state=state, limit=limit, offset=offset)
    return Page(items=[stocktake.present(session, s) for s in rows], total=total, limit=limit,
                offset=offset)


@router.post("/{stocktake_id}/scans", response_model=ScansCounted, responses={
    404: {"description": "no such stocktake"}, **_NOT_OPEN,
    422: {"description": "a code names nothing, is a record, or a location outside the scope; "
                         "nothing of the call is counted"}})
def scans(stocktake_id: RowId, body: StocktakeScans, session: SessionDep, scheme: SchemeDep,
          user: Mover):
    """Count codes in the order scanned: a location sets where the boxes after it are seen
    (before any location: somewhere in the scope). A box counted before is a duplicate."""
    try:
        seen, duplicates = scan.count_all(session, body.codes, stocktake_id=stocktake_id,
                                          scheme=scheme, clearance=user.clearance,
                                          user=user.username)
    except Invalid:
        session.rollback()
        raise
    counting = stocktake.by_id(session, stocktake_id)
    seen_total, duplicates_total = stocktake.totals(session, counting)
    session.commit()
    return ScansCounted(seen=seen, duplicates=duplicates, seen_total=seen_total,
                        duplicates_total=duplicates_total)


def saved(value: int | None) -> int:
    assert value is not None, "a stocktake read from the database has an id"
    return value


@router.get("/{stocktake_id}", response_model=StocktakePublic,
            responses={404: {"description": "no such stocktake"}})
def read(stocktake_id: RowId, session: SessionDep, user: Mover):
    """The stocktake and its result: found, misplaced, missing, unexpected, on loan, duplicates."""
    return stocktake.present(session, stocktake.by_id(session, stocktake_id))


@router.post("/{stocktake_id}/apply", response_model=StocktakeApplied,
             responses={404: {"description": "no such stocktake"}, **_NOT_OPEN})
def apply(stocktake_id: RowId, session: SessionDep, user: Mover):
    """Make the twin what was counted: moves (reason `stocktake`) and missing boxes marked."""
    applied, done = stocktake.apply(session, stocktake_id, actor=user.username)
    session.commit()
    return StocktakeApplied(id=saved(applied.id), state=applied.state, moved=done.moved,
                            marked_missing=done.marked_missing, found_again=done.found_again,
                            left=done.left)


@router.post("/{stocktake_id}/cancel", response_model=StocktakePublic,
             responses={404: {"description": "no such stocktake"}, **_NOT_OPEN})
def cancel(stocktake_id: RowId, session: SessionDep, user: Mover):
    """Stop counting without changing the twin."""
    cancelled = stocktake.cancel(session, stocktake_id, actor=user.username)
    session.commit()
    return stocktake.present(session, cancelled)


@router.get("/{stocktake_id}/report.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, 404: {"description": "no such stocktake"}})
def report_csv(stocktake_id: RowId, session: SessionDep, user: Mover) -> Response:
    """The result, one row per box: group, box, expected (code, path), seen (code, path)."""
    shown = stocktake.present(session, stocktake.by_id(session, stocktake_id))
    return Response(stocktake.report_csv(shown), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="stocktake-{stocktake_id}.csv"'})


@router.get("/{stocktake_id}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}},
                       404: {"description": "no such stocktake"}})
def report_pdf(stocktake_id: RowId, session: SessionDep, user: Mover) -> Response:
    """The result on A4, English and Chinese headings."""
    shown = stocktake.present(session, stocktake.by_id(session, stocktake_id))
    return Response(stocktake.report_pdf(shown), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="stocktake-{stocktake_id}.pdf"'})
