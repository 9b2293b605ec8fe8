"""Lending pages: a borrower's requests, loans, holds and "where is it"; the lending desk's
requests to decide, pick list, due and overdue loans and holds.

Every form posts, then redirects (303) to the page that shows the result; a refused form is
shown again with the error next to its field and the values as typed. The rules are the
services' (server/services/requests.py, loans.py, holds.py); this module only shows them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from dashboard.pages import (
    MOVERS,
    AnyonePage,
    MoverPage,
    Page,
    PageRefused,
    render,
)
from server.clock import now
from server.models.lending import HoldCreate, RequestCreate, RequestState
from server.services import holds, loans, reminders, requests
from server.services.errors import DomainError, NotFound
from server.services.requests import Policy

router = APIRouter(include_in_schema=False)
DECIDERS = ("admin", "archivist")
PAGE_SIZE = 50


def _policy(page: Page) -> Policy:
    return Policy.from_settings(page.request.app.state.settings)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field_of(exc: DomainError, fallback: str) -> str:
    return exc.field or fallback


# ---------------------------------------------------------------- asking


@router.get("/requests/new")
def new_request(page: AnyonePage, records: Annotated[list[str], Query()] = [],  # noqa: B006
                boxes: Annotated[list[str], Query()] = []) -> Response:  # noqa: B006
    """The request form, filled in with what the record or box page asked for."""
    return render(page, "request_new.html", form={
        "records": " ".join(records), "boxes": " ".join(boxes), "purpose": "",
        "wanted_on": "", "mode": "reading_room"}, errors={}, today=now().date().isoformat())


@router.post("/requests")
def submit_request(page: AnyonePage, purpose: Annotated[str, Form(max_length=500)] = "",
                   records: Annotated[str, Form(max_length=4000)] = "",
                   boxes: Annotated[str, Form(max_length=4000)] = "",
                   wanted_on: Annotated[str, Form(max_length=10)] = "",
                   mode: Annotated[str, Form(max_length=20)] = "reading_room") -> Response:
    """Send the request; the borrower lands on it (or sees the form again with the error)."""
    form = {"records": records, "boxes": boxes, "purpose": purpose, "wanted_on": wanted_on,
            "mode": mode}
    errors: dict[str, str] = {}
    try:
        data = RequestCreate.model_validate({
            "records": records.split() or None, "boxes": boxes.split() or None,
            "purpose": purpose.strip(), "wanted_on": wanted_on or None, "mode": mode})
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "purpose"
            errors[field] = page.t(f"lending.error.{field}")
        return render(page, "request_new.html", status=422, form=form, errors=errors,
                      today=now().date().isoformat())
    try:
        made = requests.submit(page.session, data, borrower=page.person)
    except DomainError as exc:
        page.session.rollback()
        errors[_field_of(exc, "records")] = page.say(exc)
        status = 404 if isinstance(exc, NotFound) else 409 if exc.field != "wanted_on" else 422
        return render(page, "request_new.html", status=status, form=form, errors=errors,
                      today=now().date().isoformat())
    page.session.commit()
    return _see_other(f"/requests/{made.id}")


@router.get("/requests")
def request_list(page: AnyonePage, state: str = "",
                 offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """A borrower's own requests; for the desk, the requests waiting for a decision."""
    staff = page.person.role in MOVERS
    wanted = state or ("submitted" if staff else "")
    if wanted not in requests.TRANSITIONS and wanted != "":
        wanted = ""
    rows, total = requests.list_requests(page.session, viewer=page.person, state=wanted or None,
                                         limit=PAGE_SIZE, offset=offset)
    return render(page, "requests.html", live=("request",),
                  requests=requests.present(page.session, rows), total=total, state=wanted,
                  states=list(RequestState), offset=offset, page_size=PAGE_SIZE, staff=staff)


def _request_page(page: Page, request_id: int, *, errors: dict[str, str] | None = None,
                  form: dict[str, str] | None = None, status: int = 200) -> Response:
    try:
        request = requests.by_id(page.session, request_id, viewer=page.person)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    shown = requests.present(page.session, [request])[0]
    wheres = {}
    for code in shown.boxes:
        wheres[code] = holds.where_is(page.session, code, viewer=page.person)
    mine = request.borrower == page.person.username
    return render(page, "request.html", status=status, live=("request", "box"), req=shown,
                  wheres=wheres, errors=errors or {}, form=form or {},
                  can_decide=page.person.role in DECIDERS and request.state == "submitted",
                  can_cancel=(mine or page.person.role in MOVERS)
                  and request.state in ("submitted", "approved"),
                  can_hand_out=page.person.role in MOVERS and request.state == "approved",
                  today=now().date().isoformat())


@router.get("/requests/{request_id}")
def request_page(request_id: int, page: AnyonePage) -> Response:
    """One request: its state, its boxes and where they are; the desk's buttons."""
    return _request_page(page, request_id)


@router.post("/requests/{request_id}/approve")
def approve(request_id: int, page: AnyonePage,
            due_on: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Approve (the rules are checked again); refused: the error next to the due day."""
    if page.person.role not in DECIDERS:
        raise PageRefused("forbidden")
    form = {"due_on": due_on}
    try:
        due = date.fromisoformat(due_on) if due_on else None
    except ValueError:
        return _request_page(page, request_id, errors={"due_on": page.t("lending.error.due_on")},
                             form=form, status=422)
    try:
        requests.approve(page.session, request_id, due_on=due, actor=page.person.username,
                         policy=_policy(page))
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        page.session.rollback()
        return _request_page(page, request_id, errors={"approve": page.say(exc)}, form=form,
                             status=422 if exc.field == "due_on" else 409)
    page.session.commit()
    return _see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/refuse")
def refuse(request_id: int, page: AnyonePage,
           reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Refuse with a reason; without one, the form asks for it."""
    if page.person.role not in DECIDERS:
        raise PageRefused("forbidden")
    if not reason.strip():
        return _request_page(page, request_id, errors={"reason": page.t("lending.error.reason")},
                             status=422)
    try:
        requests.refuse(page.session, request_id, reason=reason, actor=page.person.username)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        page.session.rollback()
        return _request_page(page, request_id, errors={"reason": page.say(exc)},
                             form={"reason": reason}, status=409)
    page.session.commit()
    return _see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/cancel")
def cancel(request_id: int, page: AnyonePage) -> Response:
    """Cancel (the borrower's own, or staff)."""
    try:
        requests.cancel(page.session, request_id, viewer=page.person)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        page.session.rollback()
        return _request_page(page, request_id, errors={"cancel": page.say(exc)}, status=409)
    page.session.commit()
    return _see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/checkout")
def checkout(request_id: int, page: MoverPage,
             box: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Hand a box of an approved request out at the desk."""
    try:
        loans.check_out(page.session, box, request_id=request_id, actor=page.person.username,
                        policy=_policy(page))
    except DomainError as exc:
        page.session.rollback()
        return _request_page(page, request_id, errors={f"box-{box}": page.say(exc)}, status=409)
    page.session.commit()
    return _see_other(f"/requests/{request_id}")


# ---------------------------------------------------------------- a borrower's own


@router.get("/my")
def my_lending(page: AnyonePage, error: str = "", field: str = "") -> Response:
    """My loans (due days, reminders, renew), my holds (place in the queue) and requests."""
    session = page.session
    rows, _ = loans.list_loans(session, state="open", borrower=page.person.username, limit=200)
    shown = loans.present(session, rows)
    latest = reminders.reminders_of(session, [loan.id for loan in shown])
    held, _ = holds.list_holds(session, viewer=page.person, limit=200)
    own = [h for h in held if h.borrower == page.person.username]
    asked, _ = requests.list_requests(session, viewer=page.person,
                                      borrower=page.person.username, limit=20)
    return render(page, "my_lending.html", live=("request", "reminder", "hold", "box"),
                  loans=shown, reminders=latest, holds=holds.present(session, own),
                  requests=requests.present(session, asked), error=error, field=field,
                  renewals=_policy(page).renewals)


@router.post("/loans/{loan_id}/renew")
def renew(loan_id: int, page: AnyonePage, back: Annotated[str, Form(max_length=200)] = "/my") -> Response:
    """Renew a loan; refused: back to the page with the reason next to the loan."""
    try:
        loans.renew(page.session, loan_id, due_on=None, viewer=page.person, policy=_policy(page))
    except DomainError as exc:
        page.session.rollback()
        return _see_other(_back(back) + "?" + urlencode({"error": page.say(exc),
                                                         "field": f"loan-{loan_id}"}))
    page.session.commit()
    return _see_other(_back(back))


def _back(back: str) -> str:
    return back if back in ("/my", "/desk") else "/my"


@router.post("/holds")
def place_hold(page: AnyonePage, box: Annotated[str, Form(max_length=20)] = "",
               record: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Join the queue for a box (from its page, or a record's)."""
    try:
        holds.place(page.session, HoldCreate(box=box or None, record=record or None),
                    borrower=page.person)
    except DomainError as exc:
        page.session.rollback()
        return _see_other("/my?" + urlencode({"error": page.say(exc), "field": "hold"}))
    page.session.commit()
    return _see_other("/my")


@router.post("/holds/{hold_id}/cancel")
def cancel_hold(hold_id: int, page: AnyonePage,
                back: Annotated[str, Form(max_length=200)] = "/my") -> Response:
    """Leave the queue."""
    try:
        holds.cancel(page.session, hold_id, viewer=page.person)
    except DomainError as exc:
        page.session.rollback()
        return _see_other(_back(back) + "?" + urlencode({"error": page.say(exc),
                                                         "field": f"hold-{hold_id}"}))
    page.session.commit()
    return _see_other(_back(back))


@router.get("/whereis")
def where_is(page: AnyonePage, code: str = "") -> Response:
    """Where a box, or a record's box, is now."""
    found = error = None
    if code.strip():
        try:
            found = holds.where_is(page.session, code, viewer=page.person)
        except DomainError as exc:
            error = page.say(exc)
    return render(page, "whereis.html", live=("box",), code=code, found=found, error=error,
                  status=404 if error else 200)


# ---------------------------------------------------------------- the lending desk


@router.get("/desk")
def desk(page: MoverPage, error: str = "", field: str = "") -> Response:
    """The lending desk: requests waiting, the pick list, due and overdue loans, holds."""
    session = page.session
    waiting, waiting_total = requests.list_requests(session, viewer=page.person,
                                                    state="submitted", limit=20)
    due_rows, _ = loans.list_loans(session, state="open", limit=200)
    today = now().date()
    shown = sorted(loans.present(session, due_rows), key=lambda loan: loan.due_on)
    queued, _ = holds.list_holds(session, viewer=page.person, limit=200)
    return render(page, "desk.html", live=("request", "box", "reminder", "hold"),
                  waiting=requests.present(session, waiting), waiting_total=waiting_total,
                  picklist=requests.picklist(session), loans=shown, today=today,
                  reminders=reminders.reminders_of(session, [loan.id for loan in shown]),
                  holds=holds.present(session, queued), error=error, field=field)


@router.get("/picklist.pdf")
def picklist_pdf(page: MoverPage) -> Response:
    """The pick list to print."""
    pdf = requests.picklist_sheet(requests.picklist(page.session))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="picklist.pdf"'})


@router.post("/picklist/light")
def light_picklist(page: MoverPage) -> Response:
    """Light the shelf over every box still to pick."""
    link = page.request.app.state.broker_link
    if link is None or not link.connected:
        return _see_other("/desk?" + urlencode({"error": page.t("box.light_unreachable"),
                                                "field": "picklist"}))
    settings = page.request.app.state.settings
    requests.light_picklist(page.session, light_seconds=settings.lending_light_seconds)
    page.session.commit()
    return _see_other("/desk")


@router.post("/picklist/{code}/pick")
def pick(code: str, page: MoverPage) -> Response:
    """Mark a box of the pick list as taken off its shelf (the borrower sees it coming)."""
    try:
        requests.pick(page.session, code, request_id=None, actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _see_other("/desk?" + urlencode({"error": page.say(exc), "field": f"pick-{code}"}))
    page.session.commit()
    return _see_other("/desk")
