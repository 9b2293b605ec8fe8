"""What the overview counts and draws: boxes by status, devices by state, how full each unit is.

These are read-only queries over server.models; they belong in server/services once the lead
moves them (they are written as plain `f(session, *, ...)` functions for that reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.models.columns import saved_id
from server.models.devices import Device
from server.models.holdings import Box, Movement, Record
from server.models.places import Location
from server.services import history
from server.services.people import clearance_levels

# The deeper a kind, the more precisely its capacity says what fits.
_DEPTH = {"room": 0, "unit": 1, "side": 2, "section": 3, "shelf": 4, "slot": 5}


@dataclass
class UnitFill:
    """One shelving unit on the room map: where it stands and how full it is."""

    code: str
    name: str
    x: float | None
    y: float | None
    boxes: int = 0
    capacity: int | None = None

    @property
    def fraction(self) -> float | None:
        """Boxes over capacity (0..1), None when the capacity is unknown."""
        if not self.capacity:
            return None
        return min(1.0, self.boxes / self.capacity)


@dataclass
class RoomMap:
    """One room with its units, for drawing."""

    code: str
    name: str
    units: list[UnitFill] = field(default_factory=list)


@dataclass(frozen=True)
class MoveLine:
    """One recent movement as a person reads it."""

    box: str
    from_code: str | None
    from_path: str | None
    to_code: str | None
    to_path: str | None
    at: datetime
    by: str | None
    reason: str


def box_counts(session: Session) -> dict[str, int]:
    """How many boxes have each status."""
    rows = session.exec(select(Box.status, func.count()).group_by(Box.status)).all()
    return {status: int(n) for status, n in rows}


def record_count(session: Session, *, clearance: str) -> int:
    """How many records this clearance may see."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Record)
            .where(col(Record.classification).in_(clearance_levels(clearance)))
        ).one()
    )


def device_states(session: Session) -> dict[str, int]:
    """How many devices are online, offline or unknown."""
    rows = session.exec(select(Device.state, func.count()).group_by(Device.state)).all()
    return {state: int(n) for state, n in rows}


def recent_movements(session: Session, *, limit: int = 8) -> list[MoveLine]:
    """The latest box movements, newest first, with location paths."""
    moves = list(session.exec(select(Movement).order_by(col(Movement.id).desc()).limit(limit)))
    return movement_lines(session, moves)


def movement_lines(session: Session, moves: list[Movement], *,
                   role: str = "admin") -> list[MoveLine]:
    """Movements with codes and paths (a few queries for all of them), as this role sees them."""
    shown = history.present_movements(session, moves, role=role)
    codes = {c for m in shown for c in (m.from_location, m.to_location) if c}
    paths = dict(
        session.exec(select(Location.code, Location.path).where(col(Location.code).in_(codes))).all()
    ) if codes else {}
    return [
        MoveLine(
            box=m.box, from_code=m.from_location,
            from_path=paths.get(m.from_location) if m.from_location else None,
            to_code=m.to_location, to_path=paths.get(m.to_location) if m.to_location else None,
            at=m.at,
            by=m.by_user or m.by_device, reason=m.reason,
        )
        for m in shown
    ]


def room_maps(session: Session) -> list[RoomMap]:
    """Every room with its shelving units, their positions, boxes and capacity."""
    rooms = list(session.exec(select(Location).where(Location.kind == "room").order_by(Location.path)))
    units = list(session.exec(select(Location).where(Location.kind == "unit").order_by(Location.path)))
    maps = {room.id: RoomMap(code=room.code, name=room.name) for room in rooms}
    fills: dict[int, UnitFill] = {}
    for unit in units:
        fill = UnitFill(code=unit.code, name=unit.name, x=unit.x, y=unit.y)
        fills[saved_id(unit)] = fill
        if unit.parent_id in maps:
            maps[unit.parent_id].units.append(fill)

    # Capacity: the deepest level inside a unit that states one (slots, else shelves, ...).
    deepest: dict[int, tuple[int, int]] = {}
    for lineage, kind, capacity in session.exec(
        select(Location.lineage, Location.kind, Location.capacity).where(
            col(Location.capacity).is_not(None), Location.kind != "room"
        )
    ):
        unit_id = _unit_of(lineage)
        if unit_id not in fills or capacity is None:  # the query already left out None
            continue
        depth = _DEPTH.get(kind, 0)
        level, total = deepest.get(unit_id, (-1, 0))
        if depth > level:
            deepest[unit_id] = (depth, capacity)
        elif depth == level:
            deepest[unit_id] = (depth, total + capacity)
    for unit_id, (_depth, total) in deepest.items():
        fills[unit_id].capacity = total

    for lineage, n in session.exec(
        select(Location.lineage, func.count(col(Box.id)))
        .join(Box, col(Box.location_id) == col(Location.id))
        .group_by(Location.lineage)
    ):
        unit_id = _unit_of(lineage)
        if unit_id in fills:
            fills[unit_id].boxes += int(n)
    return list(maps.values())


def _unit_of(lineage: str) -> int | None:
    # A unit sits right under its room, so it is the second id of a lineage "/room/unit/...".
    parts = [p for p in lineage.split("/") if p]
    return int(parts[1]) if len(parts) >= 2 else None


def ancestors(session: Session, location: Location) -> list[Location]:
    """The locations above this one, room first (the location itself last)."""
    ids = [int(p) for p in location.lineage.split("/") if p]
    found = {p.id: p for p in session.exec(select(Location).where(col(Location.id).in_(ids)))}
    return [found[i] for i in ids if i in found]


def boxes_within(session: Session, place: Location, inside: list[Location]) -> dict[str, int]:
    """Boxes anywhere under `place` and under each of `inside` (its children), by code."""
    rows = session.exec(
        select(Location.lineage, func.count(col(Box.id)))
        .join(Box, col(Box.location_id) == col(Location.id))
        .where(col(Location.lineage).startswith(place.lineage))
        .group_by(Location.lineage)
    ).all()
    return {
        p.code: sum(int(n) for lineage, n in rows if lineage.startswith(p.lineage))
        for p in [place, *inside]
    }
