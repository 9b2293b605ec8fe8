"""The climate a box actually lived in: its movement history joined with each room's readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.holdings import Box, Movement
from server.models.places import Location
from server.services import boxes, climate_history


@dataclass(frozen=True, slots=True)
class Stay:
    """Where a box was from one time to another; room None: outside every room (on loan...)."""

    room: Location | None
    start: datetime
    end: datetime


def _room_ids(session: Session, location_ids: set[int]) -> dict[int, int]:
    """location id → the id of the room it lies in (the first id of its lineage)."""
    if not location_ids:
        return {}
    rows = session.exec(select(Location.id, Location.lineage).where(
        col(Location.id).in_(location_ids))).all()
    return {i: int(lineage.strip("/").split("/")[0]) for i, lineage in rows if lineage and i is not None}


def stays(session: Session, box: Box, since: datetime, until: datetime) -> list[Stay]:
    """The box's rooms over [since, until), from its movements (merged when the room stays)."""
    moves = list(session.exec(select(Movement).where(Movement.box_id == box.id)
                              .order_by(col(Movement.at), col(Movement.id))).all())
    places = {m.to_id for m in moves if m.to_id} | {m.from_id for m in moves if m.from_id}
    if box.location_id:
        places.add(box.location_id)
    rooms = _room_ids(session, places)
    room_rows = {r.id: r for r in session.exec(select(Location).where(
        col(Location.id).in_(set(rooms.values())))).all()} if rooms else {}

    def room_of(location_id: int | None) -> Location | None:
        return room_rows.get(rooms.get(location_id)) if location_id else None

    # where it was at `since`: the last move before, else where the first move after took it from
    before = [m for m in moves if as_utc(m.at) <= since]
    after = [m for m in moves if since < as_utc(m.at) < until]
    if before:
        place = before[-1].to_id
    elif after:
        place = after[0].from_id
    else:
        place = box.location_id
    created = as_utc(box.created_at)
    assert created is not None
    cursor = max(since, created) if not before else since
    out: list[Stay] = []

    def add(room: Location | None, a: datetime, b: datetime) -> None:
        if b <= a:
            return
        if out and (out[-1].room is room or (
                out[-1].room and room and out[-1].room.id == room.id)) and out[-1].end == a:
            out[-1] = Stay(room, out[-1].start, b)
        else:
            out.append(Stay(room, a, b))

    for m in after:
        at = as_utc(m.at)
        assert at is not None
        add(room_of(place), cursor, at)
        place, cursor = m.to_id, at
    add(room_of(place), cursor, until)
    return out


@dataclass(frozen=True, slots=True)
class Exposure:
    box: str
    since: datetime
    until: datetime
    twpi_years: float | None
    hours_out_of_band: float
    mould_risk_hours: float
    hours_unknown: float
    rooms: list[dict]


def of_box(session: Session, code: str, *, since: datetime | None = None,
           until: datetime | None = None, stale_s: float = 900.0,
           default_profile: str = "paper") -> Exposure:
    """TWPI, hours out of band, mould-risk hours and unknown hours over the box's life (or a span)."""
    box = boxes.by_code(session, code)
    until = until or now()
    since = since or as_utc(box.created_at) or until
    spans: list[climate_history.Span] = []
    unknown = 0.0
    listed = []
    for stay in stays(session, box, since, until):
        length = (stay.end - stay.start).total_seconds()
        if stay.room is None:
            unknown += length
            continue
        listed.append({"room": stay.room.code, "name": stay.room.name, "from": stay.start,
                       "to": stay.end})
        got = climate_history.spans(session, stay.room, stay.start, stay.end, stale_s=stale_s,
                                    default_profile=default_profile)
        spans += got
        unknown += max(0.0, length - sum(s.seconds for s in got))
    total = climate_history.summarise(spans)
    before = (as_utc(box.created_at) or since) - since
    unknown += max(0.0, before.total_seconds())
    return Exposure(box=box.code, since=since, until=until, twpi_years=total.twpi_years,
                    hours_out_of_band=round(total.hours_out_of_band, 3),
                    mould_risk_hours=round(total.mould_risk_hours, 3),
                    hours_unknown=round(unknown / 3600, 3), rooms=listed)


def boxes_in_room(session: Session, room: Location, since: datetime, until: datetime) -> list[str]:
    """Codes of the boxes that were in a room at some time in [since, until): an incident's reach."""
    inside = select(Location.id).where(col(Location.lineage).startswith(room.lineage))
    candidates = set(session.exec(select(Box.id).where(col(Box.location_id).in_(inside))).all())
    candidates |= set(session.exec(select(Movement.box_id).where(or_(
        col(Movement.to_id).in_(inside), col(Movement.from_id).in_(inside)))).all())
    found = []
    for box in session.exec(select(Box).where(col(Box.id).in_(candidates))
                            .order_by(Box.code)).all() if candidates else []:
        if any(s.room is not None and s.room.id == room.id for s in stays(session, box, since, until)):
            found.append(box.code)
    return found
