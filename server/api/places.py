"""Locations: create, list, read and change the tree of places."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status

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
from server.models.places import (
    LightRequest,
    LightSent,
    LocationCreate,
    LocationPublic,
    LocationUpdate,
)
from server.services import lights, locations

router = APIRouter(prefix="/api/locations", tags=["locations"])


@router.post("", response_model=LocationPublic, status_code=status.HTTP_201_CREATED)
def create(data: LocationCreate, session: SessionDep, scheme: SchemeDep, user: Archivist):
    """Add a room, or a unit, side, section, shelf or slot under its parent."""
    place = locations.create_location(session, data, scheme=scheme, actor=user.username)
    session.commit()
    return locations.present(session, [place], scheme=scheme)[0]


@router.get("", response_model=Page[LocationPublic])
def list_(session: SessionDep, scheme: SchemeDep, user: Reader, parent: str | None = None,
          kind: str | None = None, q: str | None = None, limit: Limit = 50, offset: Offset = 0):
    """Locations in tree order; filter by parent code, kind or text in the path."""
    rows, total = locations.list_locations(
        session, parent=parent, kind=kind, q=q, limit=limit, offset=offset
    )
    return Page(items=locations.present(session, rows, scheme=scheme), total=total,
                limit=limit, offset=offset)


@router.get("/{code}", response_model=LocationPublic)
def read(code: str, session: SessionDep, scheme: SchemeDep, user: Reader):
    """One location by code."""
    return locations.present(session, [locations.by_code(session, code)], scheme=scheme)[0]


@router.get("/{code}/space")
def space(code: str, session: SessionDep, user: Reader,
          box_width_mm: int | None = Query(None, gt=0, le=2000,
                                           description="width of the boxes to fit; default: "
                                                       "the average of the boxes there")):
    """Space calculator: shelf length under this location, used by boxes, and what still fits."""
    return locations.space(session, code, box_width_mm=box_width_mm)


@router.patch("/{code}", response_model=LocationPublic)
def update(code: str, data: LocationUpdate, session: SessionDep, scheme: SchemeDep,
           user: Archivist):
    """Rename a location or change its capacity, length or position."""
    place = locations.update_location(session, code, data, actor=user.username)
    session.commit()
    return locations.present(session, [place], scheme=scheme)[0]


@router.post("/{code}/light", response_model=LightSent, status_code=status.HTTP_202_ACCEPTED,
             responses={503: {"description": "no broker link: the light cannot be reached"}})
def light(code: str, request: Request, session: SessionDep, user: Mover,
          data: LightRequest | None = None):
    """Switch the shelf light at this place (published on `lights/{code}/set`)."""
    require_broker_link(request)
    sent = lights.for_location(session, code, data or LightRequest())
    session.commit()  # the command leaves through the outbox
    return sent
