"""Boxes: registering them, where they are, and moving them (with capacity checked)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.columns import saved_id
from server.models.holdings import Box, BoxCreate, BoxPublic, BoxStatus, BoxUpdate, Movement, Record
from server.models.places import Location
from server.services import audit, coverage, locations, news, security
from server.services.codes import CodeScheme
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page
from server.services.people import clearance_levels

SHELVED_KINDS = frozenset({"unit", "side", "section", "shelf", "slot"})


def by_code(session: Session, code: str, *, for_update: bool = False) -> Box:
    """The box with this code, or NotFound."""
    code = code.strip().upper()
    query = select(Box).where(Box.code == code)
    if for_update:
        query = query.with_for_update()
    box = session.exec(query).first()
    if box is None:
        raise NotFound("no box has the code {code}", code=code)
    return box


def create_box(session: Session, data: BoxCreate, *, scheme: CodeScheme, actor: str) -> Box:
    """Register a new box; it gets the next code and its EPC, and is in transit until shelved."""
    home = locations.by_code(session, data.home, field="home") if data.home else None
    box = Box(
        code=f"~{secrets.token_hex(4)}",  # replaced below, once the id is known
        epc=f"~{secrets.token_hex(8)}",
        size=data.size,
        width_mm=data.width_mm,
        status=BoxStatus.IN_TRANSIT,
        home_id=home.id if home else None,
        created_at=now(),
    )
    session.add(box)
    session.flush()
    box.code = scheme.box_code(saved_id(box))
    box.epc = scheme.box_epc(saved_id(box))
    session.flush()
    tell_changed(session, box, reason="registered", by=actor)
    audit.record(
        session, actor=actor, action="create", entity="box", entity_id=box.code,
        after=snapshot(session, box),
    )
    return box


def update_box(session: Session, code: str, data: BoxUpdate, *, actor: str) -> Box:
    """Change a box's home, size or width."""
    box = by_code(session, code)
    before = snapshot(session, box)
    changes = data.model_dump(exclude_unset=True)
    if "home" in changes:
        home = changes.pop("home")
        box.home_id = locations.by_code(session, home, field="home").id if home else None
    for key, value in changes.items():
        setattr(box, key, value)
    session.flush()
    audit.record(
        session, actor=actor, action="update", entity="box", entity_id=box.code,
        before=before, after=snapshot(session, box),
    )
    return box


def move_box(
    session: Session,
    code: str,
    *,
    to: str,
    reason: str = "manual",
    user: str | None = None,
    device: str | None = None,
    check_capacity: bool = True,
) -> tuple[Box, Movement | None]:
    """Put a box at a location; refuse a full one. Returns the movement (None if already there).

    RFID sightings pass check_capacity=False: a reader reports where the box physically is,
    and the twin must follow reality even when that overfills a slot.
    """
    box = by_code(session, code, for_update=True)
    if box.status == BoxStatus.DISPOSED:
        raise Conflict("box {code} was disposed of; it cannot be moved",
                       code=box.code)
    target = session.exec(
        select(Location).where(Location.code == to.strip().upper()).with_for_update()
    ).first()
    if target is None:
        raise Invalid("no location has the code {to}", to=to.strip().upper(), field="to")
    if box.location_id == target.id:
        return box, None
    if check_capacity:
        check_room_for(session, target, box_codes=[box.code])
    before = snapshot(session, box)
    movement = Movement(
        box_id=saved_id(box),
        from_id=box.location_id,
        to_id=target.id,
        at=now(),
        by_user=user,
        by_device=device,
        reason=reason,
    )
    session.add(movement)
    box.location_id = target.id
    if box.status != BoxStatus.ON_LOAN:  # a loan ends through lending, not by being seen
        box.status = BoxStatus.ON_SHELF if target.kind in SHELVED_KINDS else BoxStatus.IN_TRANSIT
    box.last_seen_at = movement.at
    box.last_seen_by = device or user
    session.flush()
    news.tell(session, changed(box, location=target.code, path=target.path, at=movement.at,
                               reason=reason, by=user or device))
    if user:
        audit.record(
            session, actor=user, action="move", entity="box", entity_id=box.code,
            before=before, after=snapshot(session, box),
        )
    return box, movement


def check_room_for(session: Session, target: Location, *, box_codes: list[str]) -> None:
    """Refuse (Conflict) when these boxes would overfill the target location."""
    if target.capacity is None:
        return
    present = session.exec(
        select(Box.code).where(Box.location_id == target.id, col(Box.code).not_in(box_codes))
    ).all()
    if len(present) + len(box_codes) > target.capacity:
        listed = ", ".join(sorted(present)[:10]) or "nothing"
        raise Conflict(
            "{code} ({path}) is full: it holds {present} of {capacity} boxes ({listed})",
            code=target.code, path=target.path, present=len(present), capacity=target.capacity,
            listed=listed,
            field="to",
        )


def list_boxes(
    session: Session,
    *,
    status: str | None = None,
    location: str | None = None,
    home: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Box], int]:
    """Boxes by code, filtered by status, by a location subtree or by home."""
    query = select(Box)
    if status:
        query = query.where(Box.status == status)
    if location:
        place = locations.by_code(session, location, field="location")
        inside = select(Location.id).where(col(Location.lineage).startswith(place.lineage))
        query = query.where(col(Box.location_id).in_(inside))
    if home:
        query = query.where(Box.home_id == locations.by_code(session, home, field="home").id)
    return page(session, query.order_by(Box.code), limit=limit, offset=offset)


def history(session: Session, code: str, *, limit: int = 50, offset: int = 0) -> tuple[list[Movement], int]:
    """A box's moves, newest first."""
    box = by_code(session, code)
    query = select(Movement).where(Movement.box_id == box.id).order_by(col(Movement.id).desc())
    return page(session, query, limit=limit, offset=offset)


def _facts_statement():
    # Built once: constructing a statement and its cache key costs more than running it.
    here, home = aliased(Location, name="here"), aliased(Location, name="home")
    # only the records the viewer's clearance covers are counted: a count is a leak too
    held = (select(func.count()).where(Record.box_id == Box.id)
            .where(col(Record.classification).in_(bindparam("levels", expanding=True)))
            .correlate(Box).scalar_subquery())
    return (
        select(Box.id, here.code, here.path, home.code, home.path, held)
        .outerjoin(here, here.id == Box.location_id)
        .outerjoin(home, home.id == Box.home_id)
        .where(col(Box.id).in_(bindparam("ids", expanding=True)))
    )


_FACTS = _facts_statement()


def present(session: Session, boxes: Iterable[Box], *, scheme: CodeScheme, clearance: str,
            role: str | None = None) -> list[BoxPublic]:
    """Boxes as the API shows them, with location codes, paths and the count of the records
    this clearance may see; who last saw the box as this role may see it.

    One query of plain columns for all of them: a scan answers with this, and ORM objects
    for the two locations plus a second query for the count cost more than the lookup.
    """
    boxes = list(boxes)
    if not boxes:
        return []
    facts = {
        row[0]: row[1:] for row in session.execute(
            _FACTS, {"ids": [b.id for b in boxes], "levels": clearance_levels(clearance)})
    }
    result = []
    for box in boxes:
        here_code, here_path, home_code, home_path, count = facts.get(
            box.id, (None, None, None, None, 0)
        )
        result.append(
            BoxPublic(
                code=box.code, epc=box.epc, qr=scheme.qr(box.code), status=BoxStatus(box.status),
                location=here_code, location_path=here_path, home=home_code, home_path=home_path,
                at_home=coverage.at_home(session, location=here_code, home=home_code),
                size=box.size, width_mm=box.width_mm, last_seen_at=box.last_seen_at,
                last_seen_by=box.last_seen_by if role is None
                else security.actor_shown(box.last_seen_by, role), records=count,
            )
        )
    return result


def changed(box: Box, *, location: str | None, at: datetime, path: str | None = None,
            reason: str | None = None, by: str | None = None) -> news.BoxChanged:
    """The news of a box that moved or changed status: published as its retained twin
    state, and pages showing the box reload it."""
    return news.BoxChanged(code=box.code, location=location, status=box.status,
                           ts=as_utc(at) or now(), path=path, reason=reason, by=by)


def tell_changed(session: Session, box: Box, *, reason: str | None = None,
                 by: str | None = None) -> None:
    """Announce a box's status or place as it now is (for changes other than move_box)."""
    place = session.get(Location, box.location_id) if box.location_id else None
    news.tell(session, changed(box, location=place.code if place else None,
                               path=place.path if place else None, at=now(), reason=reason,
                               by=by))


def snapshot(session: Session, box: Box) -> dict:
    """What the audit log keeps of a box."""
    here = session.get(Location, box.location_id) if box.location_id else None
    home = session.get(Location, box.home_id) if box.home_id else None
    return {
        "code": box.code,
        "status": box.status,
        "location": here.code if here else None,
        "home": home.code if home else None,
        "size": box.size,
        "width_mm": box.width_mm,
    }
