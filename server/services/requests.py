"""Lending requests: the one state machine from a borrower's request to the box back home.

    submitted ──► approved ──► checked_out ──► returned
        │             │
        ├──► refused  └──► cancelled
        └──► cancelled

Every step goes through `_step`: an illegal one is refused (Conflict, 409) naming the state
the request is in, and nothing changes. Each step is audited and announced (RequestChanged);
box status changes go through boxes.tell_changed. The rules for lending a box (clearance,
out, missing, disposed, held for disposal) live in `box_refusal`, checked when the borrower
asks and again when an archivist approves. Check-out and return are in services/loans.py,
which calls `checked_out` and `loan_ended` here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from labels.picklist import PickRow, picklist_pdf
from server.clock import now
from server.models.columns import saved_id
from server.models.holdings import CLASSIFICATIONS, Box, BoxStatus, Record
from server.models.lending import (
    DisposalHold,
    LendingMode,
    LendingRequest,
    PickItem,
    RequestCreate,
    RequestItem,
    RequestItemPublic,
    RequestPublic,
    RequestState,
)
from server.models.loans import Loan
from server.models.people import Role, User
from server.models.places import LightRequest, LightSent, Location
from server.services import audit, boxes, downloads, lights, news, people, records
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page

S = RequestState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.APPROVED, S.REFUSED, S.CANCELLED}),
    S.APPROVED: frozenset({S.CHECKED_OUT, S.CANCELLED}),
    S.CHECKED_OUT: frozenset({S.RETURNED}),
    S.RETURNED: frozenset(),
    S.REFUSED: frozenset(),
    S.CANCELLED: frozenset(),
}
# What each step is called in a refusal: "request 7 is refused: it cannot be approved".
VERBS: dict[str, str] = {S.APPROVED: "approved", S.REFUSED: "refused", S.CANCELLED: "cancelled",
         S.CHECKED_OUT: "checked out", S.RETURNED: "returned"}
STAFF = frozenset({Role.ADMIN, Role.ARCHIVIST, Role.STAFF})
DECIDERS = frozenset({Role.ADMIN, Role.ARCHIVIST})


@dataclass(frozen=True, slots=True)
class Policy:
    """The lending policy from the settings: terms, renewals, how long lights stay on."""

    reading_room_days: int = 0
    take_away_days: int = 14
    renewals: int = 1
    renewal_days: int = 14
    light_seconds: int = 120
    download_days: int = 7

    @classmethod
    def from_settings(cls, settings) -> Policy:
        """The policy the settings describe."""
        return cls(settings.loan_reading_room_days, settings.loan_take_away_days,
                   settings.loan_renewals, settings.loan_renewal_days,
                   settings.lending_light_seconds, settings.download_grant_days)

    def due_on(self, mode: str, *, start: date) -> date:
        """The due day of a loan in this mode that starts on `start`."""
        days = self.reading_room_days if mode == LendingMode.READING_ROOM else self.take_away_days
        return start + timedelta(days=days)


DEFAULT_POLICY = Policy()


# -- the rules for lending a box -------------------------------------------------------------


def disposal_hold(session: Session, box: Box) -> DisposalHold | None:
    """The disposal hold standing on the box, if any."""
    return session.exec(select(DisposalHold).where(
        DisposalHold.box_id == box.id, col(DisposalHold.released_at).is_(None))).first()


def box_refusal(session: Session, box: Box, borrower: User, *,
                request_id: int | None = None) -> Conflict | None:
    """Why this box cannot be lent to this borrower now (None when it can)."""
    if box.status == BoxStatus.DISPOSED:
        return Conflict("box {code} was disposed of", code=box.code)
    if box.status == BoxStatus.MISSING:
        return Conflict("box {code} is missing", code=box.code)
    loan = session.exec(select(Loan).where(Loan.box_id == box.id,
                                           col(Loan.returned_at).is_(None))).first()
    if loan is not None:
        return Conflict("box {code} is out on loan, due back {due_on}", code=box.code,
                        due_on=loan.due_on.isoformat())
    if box.status == BoxStatus.ON_LOAN:
        return Conflict("box {code} is out on loan", code=box.code)
    held = disposal_hold(session, box)
    if held is not None:
        return Conflict("box {code} is on hold for disposal ({reason})", code=box.code,
                        reason=held.reason)
    allowed = set(people.clearance_levels(borrower.clearance))
    classified = set(session.exec(
        select(Record.classification).where(Record.box_id == box.id).distinct()).all())
    above = sorted(classified - allowed, key=lambda c: CLASSIFICATIONS.index(c)
                   if c in CLASSIFICATIONS else 99)
    if above:
        return Conflict("box {code} also holds records above {username}'s clearance "
                        "({clearance})", code=box.code, username=borrower.username,
                        clearance=borrower.clearance)
    promised = session.exec(
        select(RequestItem.request_id).join(LendingRequest,
                                            col(LendingRequest.id) == RequestItem.request_id)
        .where(RequestItem.box_id == box.id, LendingRequest.state == S.APPROVED,
               col(RequestItem.loan_id).is_(None), RequestItem.request_id != (request_id or 0))
    ).first()
    if promised is not None:
        return Conflict("box {code} is promised to request {promised}, approved and not yet out",
                        code=box.code, promised=promised)
    return None


def _step(session: Session, request: LendingRequest, to: str, *, actor: str,
          reason: str | None = None) -> None:
    """Move the request to `to`, or refuse (Conflict) naming the state it is in."""
    if to not in TRANSITIONS[request.state]:
        raise Conflict("request {id} is {state}: it cannot be {verb}",
                       id=request.id, state=request.state, verb=VERBS[to],
                       field="state")
    before = {"state": request.state}
    request.state = to
    request.updated_at = now()
    if reason is not None:
        request.reason = reason
    session.flush()
    codes = box_codes(session, request)
    news.tell(session, news.RequestChanged(id=saved_id(request), state=to,
                                           borrower=request.borrower, boxes=codes,
                                           ts=request.updated_at, by=actor, reason=reason))
    audit.record(session, actor=actor, action=f"request_{to}", entity="request",
                 entity_id=str(request.id), before=before,
                 after={"state": to, "boxes": codes, "reason": reason,
                        "due_on": request.due_on.isoformat() if request.due_on else None})


def submit(session: Session, data: RequestCreate, *, borrower: User) -> LendingRequest:
    """A borrower asks for records (each asks for its box) or whole boxes; or, in mode
    download, for records' electronic copies (services/downloads.py)."""
    if data.mode == LendingMode.DOWNLOAD:
        return _submit_download(session, data, borrower=borrower)
    wanted: list[tuple[Box, Record | None]] = []
    for reference in dict.fromkeys(data.records or []):
        asked = records.by_reference(session, reference, clearance=borrower.clearance)
        if asked.box_id is None:
            raise Conflict("record {reference_code} is in no box yet, so there is nothing to "
                           "fetch",
                           reference_code=asked.reference_code, field="records")
        box = session.get(Box, asked.box_id)
        assert box is not None
        wanted.append((box, asked))
    for code in dict.fromkeys(data.boxes or []):
        try:
            box = boxes.by_code(session, code)
        except NotFound as exc:
            raise NotFound(exc.template, field="boxes", **exc.params) from exc
        wanted.append((box, None))
    if not wanted:
        raise Invalid("ask for at least one record or box", field="records")
    if data.wanted_on is not None and data.wanted_on < now().date():
        raise Invalid("the day wanted {wanted_on} has passed",
                      wanted_on=data.wanted_on.isoformat(),
                      field="wanted_on")
    seen: set[int] = set()
    at = now()
    request = LendingRequest(borrower=borrower.username, state=S.SUBMITTED, mode=data.mode,
                             purpose=data.purpose.strip(), wanted_on=data.wanted_on,
                             created_at=at, updated_at=at)
    session.add(request)
    session.flush()
    for box, record in wanted:
        if box.id in seen:
            continue  # two records in one box: one box to fetch
        seen.add(saved_id(box))
        refusal = box_refusal(session, box, borrower, request_id=request.id)
        if (refusal is not None and "out on loan" not in refusal.template
                and "promised" not in refusal.template):
            # Out or promised: the borrower may still ask (and queue); it is checked again at
            # approval. Anything else can never be lent to them.
            refusal.field = "records" if record else "boxes"
            raise refusal
        session.add(RequestItem(request_id=saved_id(request), box_id=saved_id(box),
                                record_id=record.id if record else None))
    session.flush()
    codes = box_codes(session, request)
    news.tell(session, news.RequestChanged(id=saved_id(request), state=S.SUBMITTED,
                                           borrower=request.borrower, boxes=codes, ts=at,
                                           by=borrower.username))
    audit.record(session, actor=borrower.username, action="request_submitted",
                 entity="request", entity_id=str(request.id),
                 after={"state": S.SUBMITTED, "boxes": codes, "mode": request.mode,
                        "purpose": request.purpose})
    return request


def _submit_download(session: Session, data: RequestCreate, *,
                     borrower: User) -> LendingRequest:
    if data.boxes:
        raise Invalid("a download request asks for records with electronic copies, not "
                      "boxes", field="boxes")
    at = now()
    request = LendingRequest(borrower=borrower.username, state=S.SUBMITTED,
                             mode=LendingMode.DOWNLOAD, purpose=data.purpose.strip(),
                             wanted_on=data.wanted_on, created_at=at, updated_at=at)
    session.add(request)
    session.flush()
    asked = downloads.ask(session, request, data.records or [], borrower=borrower)
    session.flush()
    news.tell(session, news.RequestChanged(id=saved_id(request), state=S.SUBMITTED,
                                           borrower=request.borrower, boxes=[], ts=at,
                                           by=borrower.username))
    audit.record(session, actor=borrower.username, action="request_submitted",
                 entity="request", entity_id=str(request.id),
                 after={"state": S.SUBMITTED, "records": asked, "mode": request.mode,
                        "purpose": request.purpose})
    return request


def by_id(session: Session, request_id: int, *, viewer: User | None = None,
          for_update: bool = False) -> LendingRequest:
    """One request, or NotFound; a borrower finds only their own."""
    query = select(LendingRequest).where(LendingRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = session.exec(query).first()
    if request is None or (viewer is not None and viewer.role not in STAFF
                           and request.borrower != viewer.username):
        raise NotFound("there is no request {request_id}", request_id=request_id)
    return request


def list_requests(session: Session, *, viewer: User, state: str | None = None,
                  borrower: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[LendingRequest], int]:
    """Requests, newest first; a borrower sees only their own."""
    query = select(LendingRequest)
    if state:
        if state not in TRANSITIONS:
            raise Invalid("state is one of {transitions}",
                          transitions=', '.join(TRANSITIONS), field="state")
        query = query.where(LendingRequest.state == state)
    if viewer.role not in STAFF:
        borrower = viewer.username
    if borrower:
        query = query.where(LendingRequest.borrower == borrower)
    return page(session, query.order_by(col(LendingRequest.id).desc()), limit=limit,
                offset=offset)


def approve(session: Session, request_id: int, *, due_on: date | None, actor: str,
            policy: Policy) -> LendingRequest:
    """An archivist approves: every rule is checked again now; the due day is set."""
    request = by_id(session, request_id, for_update=True)
    if S.APPROVED not in TRANSITIONS[request.state]:
        _step(session, request, S.APPROVED, actor=actor)  # refuses, naming the state
    borrower = people.get_user(session, request.borrower)
    if borrower is None or not borrower.active:
        raise Conflict("{borrower} may no longer borrow (the account is gone or disabled)",
                       borrower=request.borrower)
    if request.mode == LendingMode.DOWNLOAD:  # no box moves: the copies, until a due time
        until = downloads.grant(session, request, borrower=borrower,
                                days=policy.download_days, actor=actor)
        request.due_on = until.date()
        request.decided_at = now()
        request.decided_by = actor
        _step(session, request, S.APPROVED, actor=actor)
        return request
    # The boxes are locked (in one order) so that two approvals of one box cannot both pass
    # the "promised to another request" rule.
    for item in sorted(items_of(session, request), key=lambda i: i.box_id):
        box = session.exec(select(Box).where(Box.id == item.box_id).with_for_update()).one()
        if item.record_id is not None:
            record = session.get(Record, item.record_id)
            if record is None or not people.may_see(borrower.clearance, record.classification):
                raise Conflict("a record asked for is now above {username}'s clearance "
                               "({clearance})",
                               username=borrower.username, clearance=borrower.clearance)
        refusal = box_refusal(session, box, borrower, request_id=request.id)
        if refusal is not None:
            raise refusal
    today = now().date()
    start = max(today, request.wanted_on or today)
    due = due_on or policy.due_on(request.mode, start=start)
    if due < today:
        raise Invalid("the due day {due} has passed", due=due.isoformat(), field="due_on")
    request.due_on = due
    request.decided_at = now()
    request.decided_by = actor
    _step(session, request, S.APPROVED, actor=actor)
    return request


def refuse(session: Session, request_id: int, *, reason: str, actor: str) -> LendingRequest:
    """An archivist refuses, saying why."""
    request = by_id(session, request_id, for_update=True)
    reason = reason.strip()
    if not reason:
        raise Invalid("say why the request is refused", field="reason")
    request.decided_at = now()
    request.decided_by = actor
    _step(session, request, S.REFUSED, actor=actor, reason=reason)
    return request


def cancel(session: Session, request_id: int, *, viewer: User) -> LendingRequest:
    """The borrower (their own) or staff cancel; a box being fetched for it goes back."""
    request = by_id(session, request_id, viewer=viewer, for_update=True)
    items = items_of(session, request)
    if any(item.loan_id is not None for item in items) and request.state == S.APPROVED:
        raise Conflict("request {id} is approved and part of it is checked out: return those "
                       "boxes first",
                       id=request.id, field="state")
    _step(session, request, S.CANCELLED, actor=viewer.username)
    for item in items:
        if item.picked_at is not None:
            _unpick(session, item, actor=viewer.username)
    return request


def pick(session: Session, code: str, *, request_id: int | None, actor: str) -> tuple[Box, LendingRequest]:
    """A box is taken off its shelf for an approved request: the borrower sees being_retrieved."""
    box = boxes.by_code(session, code, for_update=True)
    item, request = _open_item(session, box, request_id)
    if box.status not in (BoxStatus.ON_SHELF, BoxStatus.IN_TRANSIT, BoxStatus.BEING_RETRIEVED):
        raise Conflict("box {code} is {status}: it cannot be picked",
                       code=box.code, status=box.status.replace('_', ' '))
    if item.picked_at is None:
        item.picked_at = now()
        item.picked_by = actor
    if box.status != BoxStatus.BEING_RETRIEVED:
        before = boxes.snapshot(session, box)
        box.status = BoxStatus.BEING_RETRIEVED
        session.flush()
        boxes.tell_changed(session, box, reason="pick", by=actor)
        audit.record(session, actor=actor, action="pick", entity="box", entity_id=box.code,
                     before=before, after={**boxes.snapshot(session, box),
                                           "request": request.id})
    return box, request


def _unpick(session: Session, item: RequestItem, *, actor: str) -> None:
    box = session.get(Box, item.box_id)
    assert box is not None
    item.picked_at = None
    item.picked_by = None
    if box.status == BoxStatus.BEING_RETRIEVED:
        box.status = BoxStatus.ON_SHELF if box.location_id else BoxStatus.IN_TRANSIT
        session.flush()
        boxes.tell_changed(session, box, reason="unpicked", by=actor)


def _open_item(session: Session, box: Box,
               request_id: int | None) -> tuple[RequestItem, LendingRequest]:
    """The item of an approved request that waits for this box (the given request's, or
    the only one); Conflict naming the request's state when it is not approved."""
    if request_id is not None:
        request = by_id(session, request_id, for_update=True)
        item = session.exec(select(RequestItem).where(
            RequestItem.request_id == request.id, RequestItem.box_id == box.id)).first()
        if item is None:
            raise Conflict("request {id} does not ask for box {code}",
                           id=request.id, code=box.code, field="request")
        if request.state != S.APPROVED:
            raise Conflict("request {id} is {state}, not approved: box {code} cannot go out on it",
                           id=request.id, state=request.state, code=box.code, field="request")
        if item.loan_id is not None:
            raise Conflict("box {code} is already out on request {id}",
                           code=box.code, id=request.id,
                           field="request")
        return item, request
    rows = session.exec(
        select(RequestItem, LendingRequest)
        .join(LendingRequest, col(LendingRequest.id) == RequestItem.request_id)
        .where(RequestItem.box_id == box.id, LendingRequest.state == S.APPROVED,
               col(RequestItem.loan_id).is_(None))
    ).all()
    if not rows:
        raise Conflict("no approved request waits for box {code}", code=box.code, field="request")
    item, request = rows[0]
    return item, request


def waiting_item(session: Session, box: Box,
                 request_id: int | None) -> tuple[RequestItem, LendingRequest]:
    """As _open_item, for check-out (services/loans.py)."""
    return _open_item(session, box, request_id)


def checked_out(session: Session, request: LendingRequest, item: RequestItem, loan: Loan, *,
                actor: str) -> None:
    """A box of the request went out: once all of them are out, the request is checked_out."""
    item.loan_id = saved_id(loan)
    session.flush()
    if all(i.loan_id is not None for i in items_of(session, request)):
        _step(session, request, S.CHECKED_OUT, actor=actor)


def loan_ended(session: Session, loan: Loan, *, actor: str) -> LendingRequest | None:
    """A loan came back: once every box of its request is back, the request is returned."""
    if loan.request_id is None:
        return None
    request = by_id(session, loan.request_id, for_update=True)
    loan_ids = [i.loan_id for i in items_of(session, request) if i.loan_id is not None]
    still_out = session.exec(select(Loan.id).where(col(Loan.id).in_(loan_ids),
                                                   col(Loan.returned_at).is_(None))).first()
    if still_out is None and request.state == S.CHECKED_OUT:
        _step(session, request, S.RETURNED, actor=actor)
    return request


# -- reading ----------------------------------------------------------------------------------


def items_of(session: Session, request: LendingRequest) -> list[RequestItem]:
    """The request's items, in the order they were asked for."""
    return list(session.exec(select(RequestItem).where(RequestItem.request_id == request.id)
                             .order_by(col(RequestItem.id))).all())


def box_codes(session: Session, request: LendingRequest) -> list[str]:
    """The codes of the boxes the request asks for."""
    return [code for code in session.exec(
        select(Box.code).join(RequestItem, col(RequestItem.box_id) == Box.id)
        .where(RequestItem.request_id == request.id).order_by(col(RequestItem.id)))]


def present(session: Session, requests: Iterable[LendingRequest]) -> list[RequestPublic]:
    """Requests as the API shows them."""
    shown = []
    for request in requests:
        rows = session.exec(
            select(RequestItem, Box.code, Record.reference_code)
            .join(Box, col(Box.id) == RequestItem.box_id)
            .outerjoin(Record, col(Record.id) == RequestItem.record_id)
            .where(RequestItem.request_id == request.id).order_by(col(RequestItem.id))
        ).all()
        items = [RequestItemPublic(box=code, record=ref, picked_at=item.picked_at,
                                   loan=item.loan_id) for item, code, ref in rows]
        asked = [i.record for i in items if i.record]
        until = None
        if request.mode == LendingMode.DOWNLOAD:
            asked = [record.reference_code for _, record in downloads.grants_of(session, request)]
            until = downloads.until(session, request)
        shown.append(RequestPublic(
            id=saved_id(request), state=RequestState(request.state), borrower=request.borrower,
            boxes=list(dict.fromkeys(i.box for i in items)),
            records=asked, mode=LendingMode(request.mode), download_until=until,
            purpose=request.purpose, wanted_on=request.wanted_on, due_on=request.due_on,
            reason=request.reason, created_at=request.created_at, updated_at=request.updated_at,
            decided_at=request.decided_at, decided_by=request.decided_by, items=items))
    return shown


def _walking_key(path: str | None) -> tuple:
    # Room › Unit 03 › A › Section 2 › Shelf 4 › Slot 1: each level in natural order
    # ("Unit 10" after "Unit 9"), so the picker walks the room once.
    if path is None:
        return ((1,),)
    return tuple(tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                       for part in re.split(r"(\d+)", level) if part)
                 for level in path.split(" › "))


def picklist(session: Session, *, light_seconds: int = 120) -> list[PickItem]:
    """Boxes of approved requests not yet out, in walking order, each with its light command."""
    rows = session.exec(
        select(RequestItem, LendingRequest, Box, Location)
        .join(LendingRequest, col(LendingRequest.id) == RequestItem.request_id)
        .join(Box, col(Box.id) == RequestItem.box_id)
        .outerjoin(Location, col(Location.id) == Box.location_id)
        .where(LendingRequest.state == S.APPROVED, col(RequestItem.loan_id).is_(None))
    ).all()
    items = []
    for item, request, box, place in rows:
        light = (LightSent(location=place.code, path=place.path, on=True, color="blue",
                           seconds=light_seconds) if place is not None else None)
        items.append(PickItem(box=box.code, location=place.code if place else None,
                              path=place.path if place else None, request=saved_id(request),
                              borrower=request.borrower, mode=LendingMode(request.mode),
                              picked=item.picked_at is not None, light=light))
    items.sort(key=lambda i: (_walking_key(i.path), i.box))
    return items


def picklist_sheet(items: Iterable[PickItem]) -> bytes:
    """The pick list as a printable A4 PDF (headings in English and Chinese)."""
    rows = [PickRow(box=i.box, path=i.path or "—", request=str(i.request), borrower=i.borrower,
                    mode="阅览 reading room" if i.mode == LendingMode.READING_ROOM
                    else "外借 take away", picked=i.picked) for i in items]
    return picklist_pdf(rows, printed=now().strftime("%Y-%m-%d %H:%M UTC"))


def light_picklist(session: Session, *, light_seconds: int = 120) -> list[LightSent]:
    """Switch on the light over every box still to pick (each command through the outbox)."""
    sent = []
    for item in picklist(session, light_seconds=light_seconds):
        if item.location and not item.picked:
            sent.append(lights.for_location(session, item.location, LightRequest(
                on=True, color="blue", seconds=light_seconds)))
    return sent


def hold_for_disposal(session: Session, code: str, *, reason: str, actor: str) -> DisposalHold:
    """Put a box on hold for disposal: it is not lent while the hold stands."""
    box = boxes.by_code(session, code, for_update=True)
    held = disposal_hold(session, box)
    if held is not None:
        raise Conflict("box {code} is already on hold for disposal ({reason})",
                       code=box.code, reason=held.reason)
    held = DisposalHold(box_id=saved_id(box), reason=reason.strip(), placed_at=now(),
                        placed_by=actor)
    session.add(held)
    audit.record(session, actor=actor, action="disposal_hold", entity="box",
                 entity_id=box.code, after={"reason": held.reason})
    return held


def release_disposal_hold(session: Session, code: str, *, actor: str) -> None:
    """Lift a box's disposal hold."""
    box = boxes.by_code(session, code, for_update=True)
    held = disposal_hold(session, box)
    if held is None:
        raise Conflict("box {code} is not on hold for disposal", code=box.code)
    held.released_at = now()
    held.released_by = actor
    audit.record(session, actor=actor, action="disposal_release", entity="box",
                 entity_id=box.code, before={"reason": held.reason})
