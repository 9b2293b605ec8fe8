"""Time-limited download access: a record with an electronic copy lent as a download.

A lending request in mode `download` asks for records (never boxes) that have electronic
copies; no box moves for it (nothing to pick or check out). Approval grants the borrower
those records' copies until a due time (`download_grant_days` on); cancelling the request
ends the grant at once. Clearance still rules: a record above the borrower's clearance does
not exist for them, with or without a grant.

Who downloads a copy without a grant: staff roles within their clearance, and anyone for a
`public` record. A borrower downloads a copy of any other record only on a grant: before
approval, after cancellation or after expiry the download answers 403 saying why (and when
the access ended): the borrower may see the record, so its existence is no secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from server.clock import now
from server.models.copies import ElectronicCopy
from server.models.holdings import Record
from server.models.lending import DownloadGrant, LendingRequest, RequestState
from server.models.people import Role, User
from server.services import audit, people, records
from server.services.errors import Conflict, Forbidden, Invalid

OPEN_CLASSIFICATION = "public"  # copies of public records are open to everyone who may sign in


def ask(session: Session, request: LendingRequest, references: Iterable[str], *,
        borrower: User) -> list[str]:
    """The records of a new download request (each must have an electronic copy)."""
    asked: list[str] = []
    for reference in dict.fromkeys(references):
        record = records.by_reference(session, reference, clearance=borrower.clearance)
        held = session.exec(select(func.count()).select_from(ElectronicCopy)
                            .where(ElectronicCopy.record_id == record.id)).one()
        if not held:
            raise Invalid("record {reference_code} has no electronic copy to download; ask for "
                          "it in the reading room or to take away",
                          reference_code=record.reference_code, field="records")
        session.add(DownloadGrant(request_id=request.id or 0, record_id=record.id or 0,
                                  borrower=borrower.username))
        asked.append(record.reference_code)
    if not asked:
        raise Invalid("a download request asks for at least one record (boxes are not "
                      "downloaded)", field="records")
    return asked


def grants_of(session: Session, request: LendingRequest) -> list[tuple[DownloadGrant, Record]]:
    """The records a download request asks for, in the order asked."""
    return [(grant, record) for grant, record in session.exec(
        select(DownloadGrant, Record).join(Record, col(Record.id) == DownloadGrant.record_id)
        .where(DownloadGrant.request_id == request.id).order_by(col(DownloadGrant.id)))]


def grant(session: Session, request: LendingRequest, *, borrower: User, days: int,
          actor: str) -> datetime:
    """An archivist approved: the borrower may download until now + days."""
    until = now() + timedelta(days=days)
    shown = []
    for row, record in grants_of(session, request):
        if not people.may_see(borrower.clearance, record.classification):
            raise Conflict("a record asked for is now above {username}'s clearance ({clearance})",
                           username=borrower.username, clearance=borrower.clearance)
        row.expires_at = until
        session.add(row)
        shown.append(record.reference_code)
    audit.record(session, actor=actor, action="download_granted", entity="request",
                 entity_id=str(request.id),
                 after={"borrower": borrower.username, "records": shown,
                        "until": until.isoformat()})
    return until


def until(session: Session, request: LendingRequest) -> datetime | None:
    """Until when an approved download request grants its copies (None otherwise)."""
    if request.state != RequestState.APPROVED:
        return None
    return session.exec(select(func.max(DownloadGrant.expires_at))
                        .where(DownloadGrant.request_id == request.id)).one()


def check(session: Session, user: User, record: Record) -> None:
    """Forbidden (saying why) unless this person may download the record's copies now."""
    if user.role != Role.BORROWER or record.classification == OPEN_CLASSIFICATION:
        return
    rows = session.exec(
        select(DownloadGrant.expires_at, LendingRequest.state, LendingRequest.id)
        .join(LendingRequest, col(LendingRequest.id) == DownloadGrant.request_id)
        .where(DownloadGrant.record_id == record.id, DownloadGrant.borrower == user.username,
               col(DownloadGrant.expires_at).is_not(None))
    ).all()
    at = now()
    live = [r for r in rows if r[1] == RequestState.APPROVED and r[0] is not None and r[0] > at]
    if live:
        return
    ended = [r for r in rows if r[0] is not None]
    if ended:
        expires, state, request_id = max(ended, key=lambda r: r[0] or at)
        assert expires is not None
        if state == RequestState.APPROVED:
            why = f"your download access to {record.reference_code} ended at " \
                  f"{expires.isoformat(timespec='seconds')} (request {request_id})"
        else:
            why = f"your download access to {record.reference_code} ended: request " \
                  f"{request_id} is {state}"
        raise Forbidden("{why}; ask again with POST /api/requests mode download",
                        why=why)
    raise Forbidden("copies of {reference_code} are downloaded on an approved request: ask with "
                    "POST /api/requests mode download",
                    reference_code=record.reference_code)
