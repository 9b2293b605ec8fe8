"""Locations: the tree of rooms, shelving units, sides, sections, shelves and slots."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.holdings import Box
from server.models.places import (
    LOCATION_KINDS,
    Location,
    LocationCreate,
    LocationPublic,
    LocationUpdate,
    Site,
)
from server.services import audit
from server.services.codes import CodeScheme
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import like_pattern, page

PATH_SEPARATOR = " › "


def ensure_site(session: Session, scheme: CodeScheme) -> Site:
    """The site this server runs, created on first use."""
    site = session.exec(select(Site).where(Site.number == scheme.site_number)).first()
    if site is None:
        site = Site(name=f"Site {scheme.site_number}", number=scheme.site_number)
        session.add(site)
        session.flush()
    return site


def by_code(session: Session, code: str, *, field: str | None = None) -> Location:
    """The location with this code; NotFound (or Invalid for a body field) when none."""
    code = code.strip().upper()
    location = session.exec(select(Location).where(Location.code == code)).first()
    if location is None:
        if field:
            raise Invalid("no location has the code {code}", field=field, code=code)
        raise NotFound("no location has the code {code}", code=code)
    return location


def create_location(
    session: Session, data: LocationCreate, *, scheme: CodeScheme, actor: str
) -> Location:
    """Add a location under its parent; a room has none."""
    parent = None
    if data.kind == "room":
        if data.parent:
            raise Invalid("a room is the top of the tree: leave parent empty", field="parent")
    else:
        if not data.parent:
            raise Invalid(
                "a {kind} needs a parent: give the code of the location it is in",
                kind=data.kind,
                field="parent",
            )
        parent = by_code(session, data.parent, field="parent")
        if LOCATION_KINDS.index(data.kind) <= LOCATION_KINDS.index(parent.kind):
            raise Invalid(
                "a {kind} cannot be inside a {parent_kind} ({parent_code}); the order is {order}",
                kind=data.kind, parent_kind=parent.kind, parent_code=parent.code,
                order=" → ".join(LOCATION_KINDS), field="kind",
            )
    same_parent = (
        Location.parent_id == parent.id if parent else col(Location.parent_id).is_(None)
    )
    if session.exec(select(Location.id).where(same_parent, Location.name == data.name)).first():
        where = parent.path if parent else "the site"
        raise Conflict("{where} already has a location named {name!r}",
                       where=where, name=data.name, field="name")
    site = ensure_site(session, scheme)
    location = Location(
        **data.model_dump(exclude={"parent"}),
        code=f"~{secrets.token_hex(4)}",  # replaced below, once the id is known
        site_id=saved_id(site),
        parent_id=parent.id if parent else None,
        path=f"{parent.path}{PATH_SEPARATOR}{data.name}" if parent else data.name,
        lineage="",
        depth=parent.depth + 1 if parent else 0,
        created_at=now(),
    )
    session.add(location)
    session.flush()
    location.code = scheme.location_code(saved_id(location))
    location.lineage = f"{parent.lineage if parent else '/'}{location.id}/"
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="location", entity_id=location.code,
        after=snapshot(location),
    )
    return location


def update_location(
    session: Session, code: str, data: LocationUpdate, *, actor: str
) -> Location:
    """Change a location's name, capacity, length or drawing position."""
    location = by_code(session, code)
    before = snapshot(location)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Invalid("a location needs a name; leave name out to keep it", field="name")
    if "capacity" in changes and changes["capacity"] is not None:
        held = occupancy(session, saved_id(location))
        if held > changes["capacity"]:
            raise Conflict(
                "{code} holds {held} boxes now; move some out before lowering its capacity to "
                "{capacity}",
                code=location.code, held=held, capacity=changes['capacity'],
                field="capacity",
            )
    for key, value in changes.items():
        setattr(location, key, value)
    if "name" in changes:
        _rename_paths(session, location)
    session.flush()
    audit.record(
        session, actor=actor, action="update", entity="location", entity_id=location.code,
        before=before, after=snapshot(location),
    )
    return location


def _rename_paths(session: Session, location: Location) -> None:
    parent = session.get(Location, location.parent_id) if location.parent_id else None
    old_prefix = location.path
    location.path = f"{parent.path}{PATH_SEPARATOR}{location.name}" if parent else location.name
    for child in session.exec(
        select(Location).where(col(Location.lineage).startswith(location.lineage), Location.id != location.id)
    ):
        child.path = location.path + child.path[len(old_prefix):]


def occupancy(session: Session, location_id: int) -> int:
    """How many boxes are at this location now."""
    return session.exec(
        select(func.count()).select_from(Box).where(Box.location_id == location_id)
    ).one()


def list_locations(
    session: Session,
    *,
    parent: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Location], int]:
    """Locations, in tree order, filtered by parent, kind or text in their path."""
    query = select(Location)
    if parent:
        query = query.where(Location.parent_id == by_code(session, parent).id)
    if kind:
        if kind not in LOCATION_KINDS:
            raise Invalid("kind must be one of {location_kinds}",
                          location_kinds=', '.join(LOCATION_KINDS), field="kind")
        query = query.where(Location.kind == kind)
    if q:
        query = query.where(col(Location.path).ilike(like_pattern(q), escape="\\"))
    return page(session, query.order_by(Location.path), limit=limit, offset=offset)


def occupancies(session: Session, ids: list[int]) -> dict[int, int]:
    """Boxes now at each of these locations."""
    if not ids:
        return {}
    rows = session.exec(
        select(Box.location_id, func.count())
        .where(col(Box.location_id).in_(ids))
        .group_by(col(Box.location_id))
    ).all()
    return {loc: n for loc, n in rows if loc is not None}


def snapshot(location: Location) -> dict:
    """What the audit log keeps of a location."""
    return {
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "path": location.path,
        "capacity": location.capacity,
        "length_mm": location.length_mm,
        "x": location.x,
        "y": location.y,
    }


def present(session: Session, places: list[Location], *, scheme: CodeScheme) -> list[LocationPublic]:
    """Locations as the API shows them, with their tag, QR URL, parent and box count."""
    parents = {p.parent_id for p in places if p.parent_id}
    parent_codes = dict(
        session.exec(select(Location.id, Location.code).where(col(Location.id).in_(parents))).all()
    ) if parents else {}
    counts = occupancies(session, [saved_id(p) for p in places])
    return [
        LocationPublic(
            **place.model_dump(include={"name", "kind", "capacity", "length_mm", "x", "y", "path", "code"}),
            epc=scheme.location_epc(saved_id(place)),
            qr=scheme.qr(place.code),
            parent=parent_codes.get(place.parent_id) if place.parent_id is not None else None,
            boxes=counts.get(saved_id(place), 0),
        )
        for place in places
    ]


DEFAULT_BOX_WIDTH_MM = 80


def space(session: Session, code: str, *, box_width_mm: int | None = None) -> dict:
    """The space calculator: shelf length under a location, what boxes use, and what still fits."""
    place = by_code(session, code)
    inside = select(Location.id).where(col(Location.lineage).startswith(place.lineage))
    shelves = session.exec(
        select(Location.id, Location.length_mm).where(
            col(Location.lineage).startswith(place.lineage), col(Location.length_mm).is_not(None)
        )
    ).all()
    # Usable length is kept where it is measured (usually the shelf); each counts once.
    length = sum(mm for _, mm in shelves if mm is not None)
    widths = session.exec(
        select(Box.width_mm).where(col(Box.location_id).in_(inside))
    ).all()
    known = [w for w in widths if w]
    width = box_width_mm or (round(sum(known) / len(known)) if known else DEFAULT_BOX_WIDTH_MM)
    used = sum(w or width for w in widths)
    free = max(0, length - used)
    return {
        "code": place.code,
        "path": place.path,
        "shelves_with_length": len(shelves),
        "length_mm": length,
        "boxes": len(widths),
        "used_mm": used,
        "free_mm": free,
        "box_width_mm": width,
        "more_boxes_fit": free // width if width else 0,
        "fill_pct": round(100 * used / length, 1) if length else None,
    }
