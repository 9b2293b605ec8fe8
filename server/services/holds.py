"""Holds: the queue of borrowers waiting for a box, and where a box (or record) is now.

Position 1 is next. When the box comes back (services/loans.give_back), the first in the
queue is told (HoldReady news, and the hold shows `ready_at`); while anyone holds a box, its
loan is not renewed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.holdings import Box, BoxStatus, Movement, Record
from server.models.lending import Hold, HoldCreate, HoldPublic, WhereIs
from server.models.loans import Loan
from server.models.people import User
from server.models.places import Location
from server.services import audit, boxes, news, records
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page
from server.services.requests import STAFF

ACTIVE = col(Hold.ended_at).is_(None)


def queue(session: Session, box_id: int) -> list[Hold]:
    """The active holds on a box, first in line first."""
    return list(session.exec(select(Hold).where(Hold.box_id == box_id, ACTIVE)
                             .order_by(col(Hold.id))).all())


def position(session: Session, hold: Hold) -> int | None:
    """The hold's place in its box's queue (1 = next), None once it ended."""
    if hold.ended_at is not None:
        return None
    ahead = session.exec(select(func.count()).select_from(Hold).where(
        Hold.box_id == hold.box_id, ACTIVE, col(Hold.id) < hold.id)).one()
    return int(ahead) + 1


def place(session: Session, data: HoldCreate, *, borrower: User) -> Hold:
    """Queue for a box (or a record's box); one active hold per borrower and box."""
    record = None
    if data.record and data.box:
        raise Invalid("hold a box or a record, not both", field="box")
    if data.record:
        record = records.by_reference(session, data.record, clearance=borrower.clearance)
        if record.box_id is None:
            raise Conflict("record {reference_code} is in no box yet",
                           reference_code=record.reference_code, field="record")
        box = session.get(Box, record.box_id)
        assert box is not None
    elif data.box:
        try:
            box = boxes.by_code(session, data.box, for_update=True)
        except NotFound as exc:
            raise NotFound(exc.template, field="box", **exc.params) from exc
    else:
        raise Invalid("name the box or the record to hold", field="box")
    if box.status == BoxStatus.DISPOSED:
        raise Conflict("box {code} was disposed of", code=box.code, field="box")
    mine = session.exec(select(Hold).where(Hold.box_id == box.id, Hold.borrower ==
                                           borrower.username, ACTIVE)).first()
    if mine is not None:
        raise Conflict("you already hold box {code} (place {position} in the queue)",
                       code=box.code, position=position(session, mine), field="box")
    hold = Hold(box_id=saved_id(box), borrower=borrower.username,
                record_id=record.id if record else None, placed_at=now())
    session.add(hold)
    session.flush()
    audit.record(session, actor=borrower.username, action="hold", entity="box",
                 entity_id=box.code, after={"hold": hold.id, "position": position(session, hold)})
    return hold


def by_id(session: Session, hold_id: int, *, viewer: User) -> Hold:
    """One hold; a borrower finds only their own."""
    hold = session.get(Hold, hold_id)
    if hold is None or (viewer.role not in STAFF and hold.borrower != viewer.username):
        raise NotFound("there is no hold {hold_id}", hold_id=hold_id)
    return hold


def cancel(session: Session, hold_id: int, *, viewer: User) -> None:
    """Leave the queue (the borrower's own hold, or staff)."""
    hold = by_id(session, hold_id, viewer=viewer)
    if hold.ended_at is not None:
        raise Conflict("hold {hold_id} already ended ({ended_reason})",
                       hold_id=hold_id, ended_reason=hold.ended_reason)
    hold.ended_at = now()
    hold.ended_reason = "cancelled"
    box = session.get(Box, hold.box_id)
    audit.record(session, actor=viewer.username, action="hold_cancelled", entity="box",
                 entity_id=box.code if box else str(hold.box_id), before={"hold": hold.id})


def list_holds(session: Session, *, viewer: User, active: bool = True, limit: int = 50,
               offset: int = 0) -> tuple[list[Hold], int]:
    """Holds, oldest first; a borrower sees only their own."""
    query = select(Hold)
    if active:
        query = query.where(ACTIVE)
    if viewer.role not in STAFF:
        query = query.where(Hold.borrower == viewer.username)
    return page(session, query.order_by(col(Hold.id)), limit=limit, offset=offset)


def box_back(session: Session, box: Box, *, actor: str) -> Hold | None:
    """The box came back: tell the first in its queue (once)."""
    waiting = queue(session, saved_id(box))
    if not waiting:
        return None
    first = waiting[0]
    if first.ready_at is None:
        first.ready_at = now()
        news.tell(session, news.HoldReady(id=saved_id(first), box=box.code,
                                          borrower=first.borrower, ts=first.ready_at))
        audit.record(session, actor=actor, action="hold_ready", entity="box",
                     entity_id=box.code, after={"hold": first.id, "borrower": first.borrower})
    return first


def fulfil(session: Session, box: Box, borrower: str) -> None:
    """The box went out to a borrower who held it: their hold is done."""
    for hold in queue(session, saved_id(box)):
        if hold.borrower == borrower:
            hold.ended_at = now()
            hold.ended_reason = "fulfilled"


def present(session: Session, holds: Iterable[Hold]) -> list[HoldPublic]:
    """Holds as the API shows them, with their place in the queue."""
    shown = []
    for hold in holds:
        box = session.get(Box, hold.box_id)
        record = session.get(Record, hold.record_id) if hold.record_id else None
        shown.append(HoldPublic(
            id=saved_id(hold), box=box.code if box else "?", borrower=hold.borrower,
            record=record.reference_code if record else None, position=position(session, hold),
            placed_at=hold.placed_at, ready_at=hold.ready_at, ended_at=hold.ended_at,
            ended_reason=hold.ended_reason))
    return shown


# -- where is it --------------------------------------------------------------------------------

def where_is(session: Session, code: str, *, viewer: User) -> WhereIs:
    """Where a box, or a record's box, is: path, status, due day, the viewer's queue place."""
    text = code.strip()
    kind, box = "box", None
    try:
        box = boxes.by_code(session, text)
    except NotFound:
        record = records.by_reference(session, text, clearance=viewer.clearance)
        kind = "record"
        if record.box_id is not None:
            box = session.get(Box, record.box_id)
        if box is None:
            return WhereIs(code=record.reference_code, kind=kind, box=None, status="missing",
                           path=None, due_on=None, queue_position=None, last_moved_at=None)
        text = record.reference_code
    assert box is not None
    if kind == "box":
        text = box.code
    place = session.get(Location, box.location_id) if box.location_id else None
    loan = session.exec(select(Loan).where(Loan.box_id == box.id,
                                           col(Loan.returned_at).is_(None))).first()
    mine = session.exec(select(Hold).where(Hold.box_id == box.id, Hold.borrower ==
                                           viewer.username, ACTIVE)).first()
    last = session.exec(select(func.max(Movement.at)).where(Movement.box_id == box.id)).one()
    return WhereIs(code=text, kind=kind, box=box.code, status=box.status,
                   path=place.path if place else None,
                   due_on=loan.due_on if loan else None,
                   queue_position=position(session, mine) if mine else None,
                   last_moved_at=last)
