"""The stocktake pages: start one for a location, follow the count, review, apply, export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from dashboard.pages import MoverPage, Page, PageRefused, render
from server.models.devices import Device
from server.models.stocktakes import Stocktake, StocktakeCreate, StocktakeState
from server.services import scan, stocktake
from server.services.errors import Conflict, DomainError, NotFound

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


def _counting_devices(page: Page) -> list[str]:
    """Devices a stocktake can be counted by: scanners and handheld readers."""
    return list(page.session.exec(
        select(Device.id).where((col(Device.type) == "scanner") | (col(Device.role) == "handheld"))
        .order_by(Device.id)))


def _list_page(page: Page, *, notice: str | None = None, status: int = 200, scope: str = "",
               device: str = "", offset: int = 0) -> Response:
    rows, total = stocktake.list_stocktakes(page.session, limit=PAGE_SIZE, offset=offset)
    shown = [stocktake.present(page.session, s) for s in rows]
    return render(page, "stocktakes.html", status=status, stocktakes=shown, total=total,
                  offset=offset, page_size=PAGE_SIZE, notice=notice, scope=scope,
                  device=device, devices=_counting_devices(page))


@router.get("/stocktakes")
def stocktakes_page(page: MoverPage, scope: str = "",
                    offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """Stocktakes, newest first, and the form that starts one."""
    return _list_page(page, scope=scope, offset=offset)


@router.post("/stocktakes")
def start_stocktake(page: MoverPage, scope: Annotated[str, Form(max_length=20)],
                    device: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Start a stocktake; on to its page (the form again, with the reason, when refused)."""
    try:
        opened = stocktake.start(page.session, StocktakeCreate(scope=scope, device=device or None),
                                 actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _list_page(page, notice=page.say(exc),
                          status=409 if isinstance(exc, Conflict) else 422, scope=scope,
                          device=device)
    page.session.commit()
    return RedirectResponse(f"/stocktakes/{opened.id}", status_code=303)


def _stocktake(page: Page, stocktake_id: int) -> Stocktake:
    try:
        return stocktake.by_id(page.session, stocktake_id)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc


def _one_page(page: Page, found: Stocktake, *, notice: str | None = None,
              status: int = 200, codes: str = "") -> Response:
    shown = stocktake.present(page.session, found)
    return render(page, "stocktake.html", status=status, st=shown, notice=notice, codes=codes,
                  is_open=shown.state == StocktakeState.OPEN,
                  done=page.request.query_params.get("done"))


@router.get("/stocktakes/{stocktake_id}")
def stocktake_page(stocktake_id: int, page: MoverPage) -> Response:
    """One stocktake: the running count, the result by group, and what can be done with it."""
    return _one_page(page, _stocktake(page, stocktake_id))


@router.post("/stocktakes/{stocktake_id}/scans")
def count_codes(stocktake_id: int, page: MoverPage,
                codes: Annotated[str, Form(max_length=200_000)]) -> Response:
    """Count a list of codes typed or pasted in scan order (one per line or space)."""
    found = _stocktake(page, stocktake_id)
    listed = codes.split()
    if not listed:
        return _one_page(page, found, notice=page.t("stocktake.no_codes"), status=422)
    try:
        seen, duplicates = scan.count_all(
            page.session, listed, stocktake_id=stocktake_id,
            scheme=page.request.app.state.scheme, clearance=page.person.clearance,
            user=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _one_page(page, _stocktake(page, stocktake_id), notice=page.say(exc),
                         status=409 if exc.field == "state" else 422, codes=codes)
    page.session.commit()
    return RedirectResponse(f"/stocktakes/{stocktake_id}?done=counted&seen={seen}"
                            f"&duplicates={duplicates}", status_code=303)


def _decide(page: Page, stocktake_id: int, decide: Callable[..., Any], done: str) -> Response:
    """Apply or cancel: commit and show the stocktake, or show why not (409), changing nothing."""
    _stocktake(page, stocktake_id)
    try:
        decide(page.session, stocktake_id, actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _one_page(page, _stocktake(page, stocktake_id), notice=page.say(exc), status=409)
    page.session.commit()
    return RedirectResponse(f"/stocktakes/{stocktake_id}?done={done}", status_code=303)


@router.post("/stocktakes/{stocktake_id}/apply")
def apply_stocktake(stocktake_id: int, page: MoverPage) -> Response:
    """Apply the reviewed result: move what was misplaced, mark what is missing."""
    return _decide(page, stocktake_id, stocktake.apply, "applied")


@router.post("/stocktakes/{stocktake_id}/cancel")
def cancel_stocktake(stocktake_id: int, page: MoverPage) -> Response:
    """Stop counting; the twin stays as it was."""
    return _decide(page, stocktake_id, stocktake.cancel, "cancelled")


@router.get("/stocktakes/{stocktake_id}/report.csv")
def report_csv(stocktake_id: int, page: MoverPage) -> Response:
    """The result as CSV (with a byte-order mark, so spreadsheet programs read Chinese)."""
    shown = stocktake.present(page.session, _stocktake(page, stocktake_id))
    return Response("\ufeff" + stocktake.report_csv(shown), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="stocktake-{stocktake_id}.csv"'})


@router.get("/stocktakes/{stocktake_id}/report.pdf")
def report_pdf(stocktake_id: int, page: MoverPage) -> Response:
    """The result as PDF."""
    shown = stocktake.present(page.session, _stocktake(page, stocktake_id))
    return Response(stocktake.report_pdf(shown), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="stocktake-{stocktake_id}.pdf"'})
