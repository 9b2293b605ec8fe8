"""Lending by request: requests and their steps, the pick list, check-out, renewals, holds,
where a box is. The rules live in server/services/requests.py, loans.py and holds.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import StreamingResponse

from server.api.deps import (
    Archivist,
    Limit,
    Mover,
    Offset,
    Reader,
    RowId,
    SessionDep,
    SettingsDep,
)
from server.api.paging import Page
from server.models.lending import (
    CheckoutBody,
    DisposalHoldCreate,
    HoldCreate,
    HoldPublic,
    PickBody,
    PickItem,
    RenewBody,
    RequestApprove,
    RequestCreate,
    RequestPublic,
    RequestRefuse,
    WhereIs,
)
from server.models.loans import LoanPublic
from server.models.places import LightSent
from server.services import holds, loans, requests
from server.services.requests import Policy

router = APIRouter(tags=["lending"])

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "the request is in another state, or a lending rule fails "
                                 "now; `detail` says which"}}


@router.post("/api/requests", response_model=RequestPublic, status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "a record or box that is not there (for you)"},
                        **CONFLICT})
def submit(data: RequestCreate, session: SessionDep, user: Reader):
    """Ask for records (each asks for its box) or whole boxes, to read here or take away."""
    request = requests.submit(session, data, borrower=user)
    session.commit()
    return requests.present(session, [request])[0]


@router.get("/api/requests", response_model=Page[RequestPublic])
def list_(session: SessionDep, user: Reader, state: str | None = None,
          borrower: str | None = None, limit: Limit = 50, offset: Offset = 0):
    """Requests, newest first; a borrower sees only their own."""
    rows, total = requests.list_requests(session, viewer=user, state=state, borrower=borrower,
                                         limit=limit, offset=offset)
    return Page(items=requests.present(session, rows), total=total, limit=limit, offset=offset)


@router.get("/api/requests/{request_id}", response_model=RequestPublic)
def read(request_id: RowId, session: SessionDep, user: Reader):
    """One request (a borrower's own only)."""
    return requests.present(session, [requests.by_id(session, request_id, viewer=user)])[0]


@router.post("/api/requests/{request_id}/approve", response_model=RequestPublic,
             responses=CONFLICT)
def approve(request_id: RowId, session: SessionDep, user: Archivist, settings: SettingsDep,
            data: RequestApprove | None = None):
    """Approve: the rules are checked again now; the due day comes from the policy if unset."""
    request = requests.approve(session, request_id, due_on=data.due_on if data else None,
                               actor=user.username, policy=Policy.from_settings(settings))
    session.commit()
    return requests.present(session, [request])[0]


@router.post("/api/requests/{request_id}/refuse", response_model=RequestPublic,
             responses=CONFLICT)
def refuse(request_id: RowId, data: RequestRefuse, session: SessionDep, user: Archivist):
    """Refuse, saying why; the borrower sees the reason."""
    request = requests.refuse(session, request_id, reason=data.reason, actor=user.username)
    session.commit()
    return requests.present(session, [request])[0]


@router.post("/api/requests/{request_id}/cancel", response_model=RequestPublic,
             responses=CONFLICT)
def cancel(request_id: RowId, session: SessionDep, user: Reader):
    """Cancel a request not yet out: the borrower's own, or any for staff."""
    request = requests.cancel(session, request_id, viewer=user)
    session.commit()
    return requests.present(session, [request])[0]


@router.get("/api/picklist", response_model=Page[PickItem])
def picklist(session: SessionDep, user: Mover, settings: SettingsDep):
    """Boxes of approved requests not yet out, in walking order, with each light command."""
    items = requests.picklist(session, light_seconds=settings.lending_light_seconds)
    return Page(items=items, total=len(items), limit=len(items) or 1, offset=0)


@router.get("/api/picklist.pdf")
def picklist_sheet(session: SessionDep, user: Mover, settings: SettingsDep):
    """The pick list as a printable A4 sheet (English and Chinese)."""
    items = requests.picklist(session, light_seconds=settings.lending_light_seconds)
    pdf = requests.picklist_sheet(items)
    return StreamingResponse(iter([pdf]), media_type="application/pdf",
                             headers={"Content-Disposition": 'inline; filename="picklist.pdf"'})


@router.post("/api/picklist/light", response_model=list[LightSent])
def light_picklist(session: SessionDep, user: Mover, settings: SettingsDep):
    """Light the shelf over every box still to pick."""
    sent = requests.light_picklist(session, light_seconds=settings.lending_light_seconds)
    session.commit()
    return sent


@router.post("/api/boxes/{code}/pick", response_model=RequestPublic, responses=CONFLICT)
def pick(code: str, session: SessionDep, user: Mover, data: PickBody | None = None):
    """The box is taken off its shelf for its approved request: being_retrieved."""
    _, request = requests.pick(session, code, request_id=data.request if data else None,
                               actor=user.username)
    session.commit()
    return requests.present(session, [request])[0]


@router.post("/api/boxes/{code}/checkout", response_model=LoanPublic,
             status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def checkout(code: str, data: CheckoutBody, session: SessionDep, user: Mover,
             settings: SettingsDep):
    """Check the box out on its approved request; the door gate then lets it pass."""
    _, loan = loans.check_out(session, code, request_id=data.request, actor=user.username,
                              policy=Policy.from_settings(settings))
    session.commit()
    return loans.present(session, [loan])[0]


@router.post("/api/loans/{loan_id}/renew", response_model=LoanPublic, responses=CONFLICT)
def renew(loan_id: RowId, session: SessionDep, user: Reader, settings: SettingsDep,
          data: RenewBody | None = None):
    """Renew a loan within the limit; refused while someone holds the box."""
    loan = loans.renew(session, loan_id, due_on=data.due_on if data else None, viewer=user,
                       policy=Policy.from_settings(settings))
    session.commit()
    return loans.present(session, [loan])[0]


@router.post("/api/holds", response_model=HoldPublic, status_code=status.HTTP_201_CREATED,
             responses=CONFLICT)
def place_hold(data: HoldCreate, session: SessionDep, user: Reader):
    """Queue for a box (or a record's box); position 1 is next."""
    hold = holds.place(session, data, borrower=user)
    session.commit()
    return holds.present(session, [hold])[0]


@router.get("/api/holds", response_model=Page[HoldPublic])
def list_holds(session: SessionDep, user: Reader, active: bool = True, limit: Limit = 50,
               offset: Offset = 0):
    """Holds, first in line first; a borrower sees only their own."""
    rows, total = holds.list_holds(session, viewer=user, active=active, limit=limit,
                                   offset=offset)
    return Page(items=holds.present(session, rows), total=total, limit=limit, offset=offset)


@router.delete("/api/holds/{hold_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=CONFLICT)
def cancel_hold(hold_id: RowId, session: SessionDep, user: Reader):
    """Leave the queue."""
    holds.cancel(session, hold_id, viewer=user)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/whereis/{code:path}", response_model=WhereIs)
def where_is(code: str, session: SessionDep, user: Reader):
    """Where a box or a record's box is: path, status, due day, your place in its queue."""
    return holds.where_is(session, code, viewer=user)


@router.post("/api/boxes/{code}/disposal-hold", status_code=status.HTTP_201_CREATED,
             responses=CONFLICT)
def hold_for_disposal(code: str, data: DisposalHoldCreate, session: SessionDep,
                      user: Archivist):
    """Hold a box for disposal (appraisal): it is not lent while the hold stands."""
    held = requests.hold_for_disposal(session, code, reason=data.reason, actor=user.username)
    session.commit()
    return {"box": code.strip().upper(), "reason": held.reason, "placed_at": held.placed_at}


@router.delete("/api/boxes/{code}/disposal-hold", status_code=status.HTTP_204_NO_CONTENT,
               responses=CONFLICT)
def release_disposal_hold(code: str, session: SessionDep, user: Archivist):
    """Lift the box's disposal hold."""
    requests.release_disposal_hold(session, code, actor=user.username)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
