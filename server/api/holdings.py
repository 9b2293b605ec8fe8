"""Boxes and records: register, find, move."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
from pydantic import Field

from server.api.deps import (
    Archivist,
    Limit,
    Mover,
    Offset,
    Reader,
    SchemeDep,
    SessionDep,
    require_broker_link,
)
from server.api.paging import Page
from server.models.holdings import (
    BoxCreate,
    BoxMove,
    BoxPublic,
    BoxStatus,
    BoxUpdate,
    Classification,
    MovementPublic,
    RecordCreate,
    RecordPublic,
    RecordUpdate,
)
from server.models.places import LightRequest, LightSent
from server.services import boxes, lights, records
from server.services.history import present_movements

box_router = APIRouter(prefix="/api/boxes", tags=["boxes"])
record_router = APIRouter(prefix="/api/records", tags=["records"])


@box_router.post("", response_model=BoxPublic, status_code=status.HTTP_201_CREATED)
def create_box(data: BoxCreate, session: SessionDep, scheme: SchemeDep, user: Archivist):
    """Register a new box; it gets its code, EPC and QR URL."""
    box = boxes.create_box(session, data, scheme=scheme, actor=user.username)
    session.commit()
    return boxes.present(session, [box], scheme=scheme, clearance=user.clearance, role=user.role)[0]


@box_router.get("", response_model=Page[BoxPublic])
def list_boxes(session: SessionDep, scheme: SchemeDep, user: Reader,
               status: BoxStatus | None = None,
               location: str | None = Query(None, description="a location code: its whole subtree"),
               home: str | None = None, limit: Limit = 50, offset: Offset = 0):
    """Boxes by code; filter by status, location subtree or home."""
    rows, total = boxes.list_boxes(
        session, status=status, location=location, home=home, limit=limit, offset=offset
    )
    return Page(items=boxes.present(session, rows, scheme=scheme, clearance=user.clearance,
                                     role=user.role), total=total, limit=limit,
                offset=offset)


@box_router.get("/{code}", response_model=BoxPublic)
def read_box(code: str, session: SessionDep, scheme: SchemeDep, user: Reader):
    """One box: status, where it is, where it belongs."""
    return boxes.present(session, [boxes.by_code(session, code)], scheme=scheme,
                         clearance=user.clearance, role=user.role)[0]


@box_router.patch("/{code}", response_model=BoxPublic)
def update_box(code: str, data: BoxUpdate, session: SessionDep, scheme: SchemeDep,
               user: Archivist):
    """Change a box's home location, size or width; the change is audited."""
    box = boxes.update_box(session, code, data, actor=user.username)
    session.commit()
    return boxes.present(session, [box], scheme=scheme, clearance=user.clearance, role=user.role)[0]


@box_router.post("/{code}/move", response_model=BoxPublic)
def move_box(code: str, data: BoxMove, session: SessionDep, scheme: SchemeDep, user: Mover):
    """Put a box at a location; 409 when the location is full."""
    box, _ = boxes.move_box(session, code, to=data.to, reason=data.reason, user=user.username)
    session.commit()
    return boxes.present(session, [box], scheme=scheme, clearance=user.clearance, role=user.role)[0]


@box_router.get("/{code}/movements", response_model=Page[MovementPublic])
def box_movements(code: str, session: SessionDep, user: Reader, limit: Limit = 50,
                  offset: Offset = 0):
    """Where the box went, when, by whom and why; newest first."""
    rows, total = boxes.history(session, code, limit=limit, offset=offset)
    return Page(items=present_movements(session, rows, role=user.role), total=total, limit=limit, offset=offset)


@box_router.post("/{code}/light", response_model=LightSent,
                 status_code=status.HTTP_202_ACCEPTED,
                 responses={409: {"description": "the box is on no shelf now"},
                            503: {"description": "no broker link: the light cannot be reached"}})
def light_box(code: str, request: Request, session: SessionDep, user: Mover,
              data: LightRequest | None = None):
    """Light the shelf where the box is, to guide whoever picks it."""
    require_broker_link(request)
    sent = lights.for_box(session, code, data or LightRequest())
    session.commit()  # the command leaves through the outbox
    return sent


@record_router.post("", response_model=RecordPublic, status_code=status.HTTP_201_CREATED)
def create_record(data: RecordCreate, session: SessionDep, user: Archivist):
    """Add a record with its reference code, optionally filed in a box."""
    record = records.create_record(session, data, actor=user.username)
    session.commit()
    return records.present(session, [record])[0]


class RecordPage(Page[RecordPublic]):
    total_is_estimate: bool = Field(
        False, description="true when counting stopped: `total` means at least that many")


@record_router.get("", response_model=RecordPage)
def search_records(session: SessionDep, user: Reader,
                   q: str | None = Query(None, description="text in reference code, title or description"),
                   fonds: str | None = None,
                   year_from: int | None = Query(None, ge=1000, le=2999),
                   year_to: int | None = Query(None, ge=1000, le=2999),
                   classification: Classification | None = None,
                   box: str | None = None,
                   location: str | None = Query(None, description="a location code: its whole subtree"),
                   on_loan: bool | None = Query(None, description="only records whose box is (not) on loan"),
                   limit: Limit = 50, offset: Offset = 0):
    """Records the caller's clearance allows, matching the text and filters."""
    found = records.search_records(
        session, clearance=user.clearance, q=q, fonds=fonds, year_from=year_from,
        year_to=year_to, classification=classification, box=box, location=location,
        on_loan=on_loan, limit=limit, offset=offset,
    )
    return RecordPage(items=records.present(session, found.rows), total=found.total,
                      total_is_estimate=found.total_is_estimate, limit=limit, offset=offset)


@record_router.get("/{reference_code}", response_model=RecordPublic)
def read_record(reference_code: str, session: SessionDep, user: Reader):
    """One record by reference code (404 also when above the caller's clearance)."""
    record = records.by_reference(session, reference_code, clearance=user.clearance)
    return records.present(session, [record])[0]


@record_router.patch("/{reference_code}", response_model=RecordPublic)
def update_record(reference_code: str, data: RecordUpdate, session: SessionDep, user: Archivist):
    """Change a record; the change is audited."""
    record = records.update_record(session, reference_code, data, actor=user.username)
    session.commit()
    return records.present(session, [record])[0]
