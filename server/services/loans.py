"""Lending: a box goes out to a person until a due day, and comes back.

While a box is on loan its status is `on_loan` and it is on no shelf; the door gate
expects it to pass (ingest raises no unauthorized-removal alarm for it). Whoever lends
must be allowed to move boxes; whoever borrows must hold the clearance for every record
in the box.

Two ways out: at the desk without a request (`lend`), or on an approved request
(`check_out`, whose rules and states are services/requests.py). One way back (`give_back`):
the box is in transit until shelved, its home slot lights up, the request is returned once
all its boxes are, and the next in the box's hold queue is told.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.holdings import CLASSIFICATIONS, Box, BoxStatus, Movement, Record
from server.models.loans import Loan, LoanCreate, LoanPublic
from server.models.people import User
from server.models.places import LightRequest, Location
from server.services import audit, boxes, holds, lights, people, requests
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page
from server.services.requests import Policy

LENDABLE = frozenset({BoxStatus.ON_SHELF, BoxStatus.IN_TRANSIT})


def open_loan(session: Session, box: Box) -> Loan | None:
    """The loan the box is out on now, if any."""
    return session.exec(
        select(Loan).where(Loan.box_id == box.id, col(Loan.returned_at).is_(None))
    ).first()


def lend(session: Session, code: str, data: LoanCreate, *, actor: str) -> tuple[Box, Loan]:
    """Lend a box: refuse one already out, missing or disposed, a stranger, a past due day."""
    box = boxes.by_code(session, code, for_update=True)
    current = open_loan(session, box)
    if current is not None:
        raise Conflict("box {code} is already on loan to {borrower}, due back {due_on}",
                       code=box.code, borrower=current.borrower,
                       due_on=current.due_on.isoformat())
    if box.status not in LENDABLE:
        raise Conflict("box {code} is {status}: it cannot be lent",
                       code=box.code, status=box.status.replace('_', ' '))
    borrower = people.get_user(session, data.borrower.strip())
    if borrower is None or not borrower.active:
        raise Invalid("nobody signs in as {borrower!r}; lend to a registered person "
                      "(archive-twin users add, or POST /api/users)",
                      borrower=data.borrower.strip(), field="borrower")
    if data.due_on < now().date():
        raise Invalid("the due day {due_on} has passed; give a day from today on",
                      due_on=data.due_on.isoformat(), field="due_on")
    allowed = set(people.clearance_levels(borrower.clearance))
    held = set(session.exec(
        select(Record.classification).where(Record.box_id == box.id).distinct()
    ).all())
    above = sorted(held - allowed, key=CLASSIFICATIONS.index)
    if above:
        raise Invalid("box {code} holds {clearance} records; {username}'s clearance is "
                      "{borrower_clearance}",
                      code=box.code, clearance=above[-1], username=borrower.username,
                      borrower_clearance=borrower.clearance, field="borrower")
    if requests.disposal_hold(session, box) is not None:
        raise Conflict("box {code} is on hold for disposal: it cannot be lent",
                       code=box.code)
    return box, _hand_over(session, box, borrower, due_on=data.due_on, purpose=data.purpose,
                           actor=actor, request_id=None)


def _hand_over(session: Session, box: Box, borrower: User, *, due_on: date,
               purpose: str | None, actor: str, request_id: int | None) -> Loan:
    """The box leaves its shelf on a loan: a movement, `on_loan`, news and audit."""
    before = boxes.snapshot(session, box)
    at = now()
    loan = Loan(box_id=saved_id(box), borrower=borrower.username, purpose=purpose,
                due_on=due_on, lent_at=at, lent_by=actor, taken_from_id=box.location_id,
                request_id=request_id)
    session.add(loan)
    session.add(Movement(box_id=saved_id(box), from_id=box.location_id, to_id=None, at=at,
                         by_user=actor, reason="loan"))
    box.status = BoxStatus.ON_LOAN
    box.location_id = None
    session.flush()
    boxes.tell_changed(session, box, reason="loan", by=actor)
    audit.record(session, actor=actor, action="lend", entity="box", entity_id=box.code,
                 before=before, after={**boxes.snapshot(session, box),
                                       "borrower": loan.borrower,
                                       "due_on": loan.due_on.isoformat(),
                                       "request": request_id})
    holds.fulfil(session, box, borrower.username)
    return loan


def check_out(session: Session, code: str, *, request_id: int | None, actor: str,
              policy: Policy) -> tuple[Box, Loan]:
    """The box goes out on its approved request (409 naming the request's state if not)."""
    box = boxes.by_code(session, code, for_update=True)
    item, request = requests.waiting_item(session, box, request_id)
    borrower = people.get_user(session, request.borrower)
    if borrower is None or not borrower.active:
        raise Conflict("{borrower} may no longer borrow (the account is gone or disabled)",
                       borrower=request.borrower)
    refusal = requests.box_refusal(session, box, borrower, request_id=request.id)
    if refusal is not None:
        raise refusal
    today = now().date()
    due = request.due_on or policy.due_on(request.mode, start=today)
    loan = _hand_over(session, box, borrower, due_on=max(due, today), purpose=request.purpose,
                      actor=actor, request_id=request.id)
    requests.checked_out(session, request, item, loan, actor=actor)
    return box, loan


def give_back(session: Session, code: str, *, to: str | None, actor: str,
              light_seconds: int = 120, check_capacity: bool = True) -> tuple[Box, Loan]:
    """End the box's loan; shelve it at `to` at once, or leave it in transit for shelving.

    In transit, its home slot lights up to guide whoever shelves it. `check_capacity=False`
    is for a shelf reader, which reports where the box physically is, full or not.
    """
    box = boxes.by_code(session, code, for_update=True)
    loan = open_loan(session, box)
    if loan is None:
        raise Conflict("box {code} is not on loan", code=box.code)
    before = boxes.snapshot(session, box)
    loan.returned_at = now()
    loan.returned_by = actor
    box.status = BoxStatus.IN_TRANSIT
    session.flush()
    if to:
        box, _ = boxes.move_box(session, box.code, to=to, reason="loan", user=actor,
                                check_capacity=check_capacity)
    else:
        boxes.tell_changed(session, box, reason="loan", by=actor)
        if box.home_id is not None:
            home = session.get(Location, box.home_id)
            assert home is not None
            lights.for_location(session, home.code, LightRequest(on=True, color="green",
                                                                 seconds=light_seconds))
    audit.record(session, actor=actor, action="return", entity="box", entity_id=box.code,
                 before=before, after={**boxes.snapshot(session, box), "loan": loan.id})
    requests.loan_ended(session, loan, actor=actor)
    holds.box_back(session, box, actor=actor)
    return box, loan


def renew(session: Session, loan_id: int, *, due_on: date | None, viewer: User,
          policy: Policy) -> Loan:
    """Renew an open loan within the limit; refused while someone holds the box."""
    loan = by_id(session, loan_id)
    if viewer.role not in requests.STAFF and loan.borrower != viewer.username:
        raise NotFound("there is no loan {loan_id}", loan_id=loan_id)
    if loan.returned_at is not None:
        raise Conflict("loan {id} was returned; there is nothing to renew",
                       id=loan.id)
    if loan.renewals >= policy.renewals:
        raise Conflict("loan {id} was renewed {renewals} time(s): the limit is {policy_renewals}",
                       id=loan.id, renewals=loan.renewals, policy_renewals=policy.renewals)
    waiting = holds.queue(session, loan.box_id)
    if waiting:
        raise Conflict("{waiting} borrower(s) hold this box: bring it back by {due_on}",
                       waiting=len(waiting), due_on=loan.due_on.isoformat())
    today = now().date()
    new_due = due_on or max(loan.due_on, today) + timedelta(days=policy.renewal_days)
    if new_due <= loan.due_on:
        raise Invalid("a renewal moves the due day later than {due_on}",
                      due_on=loan.due_on.isoformat(),
                      field="due_on")
    before = {"due_on": loan.due_on.isoformat(), "renewals": loan.renewals}
    loan.due_on = new_due
    loan.renewals += 1
    loan.overdue_at = None
    box = session.get(Box, loan.box_id)
    audit.record(session, actor=viewer.username, action="renew", entity="loan",
                 entity_id=str(loan.id), before=before,
                 after={"due_on": new_due.isoformat(), "renewals": loan.renewals,
                        "box": box.code if box else None})
    return loan


def list_loans(session: Session, *, state: str | None = None, borrower: str | None = None,
               box: str | None = None, limit: int = 50, offset: int = 0,
               today: date | None = None) -> tuple[list[Loan], int]:
    """Loans, newest first: state open, overdue or returned; by borrower or box."""
    today = today or now().date()
    query = select(Loan)
    if state == "open":
        query = query.where(col(Loan.returned_at).is_(None))
    elif state == "overdue":
        query = query.where(col(Loan.returned_at).is_(None), col(Loan.due_on) < today)
    elif state == "returned":
        query = query.where(col(Loan.returned_at).is_not(None))
    elif state:
        raise Invalid("state is open, overdue or returned", field="state")
    if borrower:
        query = query.where(Loan.borrower == borrower)
    if box:
        query = query.where(Loan.box_id == boxes.by_code(session, box).id)
    return page(session, query.order_by(col(Loan.id).desc()), limit=limit, offset=offset)


def by_id(session: Session, loan_id: int) -> Loan:
    """One loan, or NotFound."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("there is no loan {loan_id}", loan_id=loan_id)
    return loan


def present(session: Session, loans: Iterable[Loan], *, today: date | None = None) -> list[LoanPublic]:
    """Loans as the API shows them, with box and location codes."""
    loans = list(loans)
    today = today or now().date()
    box_ids = {loan.box_id for loan in loans}
    place_ids = {loan.taken_from_id for loan in loans if loan.taken_from_id}
    codes = dict(session.exec(select(Box.id, Box.code).where(col(Box.id).in_(box_ids))).all()) \
        if box_ids else {}
    places = dict(session.exec(
        select(Location.id, Location.code).where(col(Location.id).in_(place_ids))
    ).all()) if place_ids else {}
    return [
        LoanPublic(
            id=saved_id(loan), box=codes.get(loan.box_id, "?"), borrower=loan.borrower,
            purpose=loan.purpose, due_on=loan.due_on,
            overdue=loan.returned_at is None and loan.due_on < today,
            lent_at=loan.lent_at, lent_by=loan.lent_by,
            taken_from=places.get(loan.taken_from_id), returned_at=loan.returned_at,
            returned_by=loan.returned_by, request=loan.request_id, renewals=loan.renewals,
        )
        for loan in loans
    ]

