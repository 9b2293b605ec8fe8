"""Loans: lend a box, take it back, and see who has what until when."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.api.deps import Limit, Mover, Offset, Reader, RowId, SessionDep
from server.api.paging import Page
from server.models.loans import LoanCreate, LoanPublic, LoanReturn
from server.models.people import Role
from server.services import loans
from server.services.errors import NotFound

router = APIRouter(tags=["loans"])


@router.post("/api/boxes/{code}/loan", response_model=LoanPublic,
             status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "already on loan, missing or disposed"}})
def lend(code: str, data: LoanCreate, session: SessionDep, user: Mover):
    """Lend a box to a person until a due day; the door gate then lets it pass."""
    _, loan = loans.lend(session, code, data, actor=user.username)
    session.commit()
    return loans.present(session, [loan])[0]


@router.post("/api/boxes/{code}/return", response_model=LoanPublic,
             responses={409: {"description": "the box is not on loan, or `to` is full"}})
def give_back(code: str, session: SessionDep, user: Mover, data: LoanReturn | None = None):
    """Take a lent box back; with `to` it is shelved there at once, else it waits in transit."""
    _, loan = loans.give_back(session, code, to=data.to if data else None,
                                actor=user.username)
    session.commit()
    return loans.present(session, [loan])[0]


@router.get("/api/loans", response_model=Page[LoanPublic])
def list_(session: SessionDep, user: Reader, state: str | None = None,
          borrower: str | None = None, box: str | None = None, limit: Limit = 50,
          offset: Offset = 0):
    """Loans, newest first; state `open`, `overdue` or `returned`. Borrowers see their own."""
    if user.role == Role.BORROWER:
        borrower = user.username
    rows, total = loans.list_loans(session, state=state, borrower=borrower, box=box,
                                   limit=limit, offset=offset)
    return Page(items=loans.present(session, rows), total=total, limit=limit, offset=offset)


@router.get("/api/loans/{loan_id}", response_model=LoanPublic)
def read(loan_id: RowId, session: SessionDep, user: Reader):
    """One loan (a borrower sees only their own)."""
    loan = loans.by_id(session, loan_id)
    if user.role == Role.BORROWER and loan.borrower != user.username:
        raise NotFound("there is no loan {loan_id}", loan_id=loan_id)
    return loans.present(session, [loan])[0]
