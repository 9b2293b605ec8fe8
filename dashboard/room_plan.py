"""A room's plan, one level at a time: its units placed by x/y (room_map draws them), then one
unit zoomed in (its sides, sections, shelves and slots), each shape a link one level down, with
the open alarms of the places inside.

The room level is room_map's drawing; this module adds what the plan page shows around it (the
alarms, the bands of the legend) and the zoomed unit, which room_map does not draw.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from dashboard import room_map, tallies
from dashboard.pages import WATCHERS, AnyonePage, PageRefused, render
from server.models.alarms import Alarm
from server.models.devices import Device
from server.models.holdings import Box
from server.models.places import Location
from server.services import locations
from server.services.alarms import OPEN
from server.services.errors import NotFound

router = APIRouter(include_in_schema=False)

SLOT_W, SHELF_H, LABEL_W = 30, 28, 26
HEAD_H, SIDE_HEAD_H, GAP, PAD = 22, 22, 10, 6
BANDS, BAND_SAMPLE, HATCHED = room_map.BANDS, room_map.BAND_SAMPLE, room_map.HATCHED
band, hatch = room_map.band, room_map.hatch


# ---------------------------------------------------------------- where the open alarms are


def alarm_places(session: Session) -> list[tuple[Alarm, str]]:
    """Each open alarm with the lineage of the place it is about.

    A climate or binary-sensor alarm names its room; a box alarm (missing, removed at the door)
    is placed where the box is, else at its home; a sensor alarm (offline) at the sensor's room.
    Alarms about nothing placed are left out.
    """
    rows = list(session.exec(select(Alarm).where(col(Alarm.state).in_(OPEN))))
    subjects = {a.subject for a in rows}
    if not subjects:
        return []
    place_of: dict[str, int] = {
        code: pid for code, pid in session.exec(
            select(Location.code, Location.id).where(col(Location.code).in_(subjects)))
        if pid is not None
    }
    for code, here, home in session.exec(
        select(Box.code, Box.location_id, Box.home_id).where(col(Box.code).in_(subjects))
    ):
        if here or home:
            place_of.setdefault(code, here or home)  # type: ignore[arg-type]
    for device_id, room_id in session.exec(
        select(Device.id, Device.room_id).where(col(Device.id).in_(subjects))
    ):
        if room_id is not None:
            place_of.setdefault(device_id, room_id)
    ids = set(place_of.values())
    lineages = dict(session.exec(
        select(Location.id, Location.lineage).where(col(Location.id).in_(ids))).all()) if ids else {}
    return [(a, lineages[place_of[a.subject]]) for a in rows
            if a.subject in place_of and place_of[a.subject] in lineages]


def alarms_within(placed: list[tuple[Alarm, str]], lineage: str) -> list[Alarm]:
    """The open alarms about this place or anything inside it."""
    return [a for a, where in placed if where.startswith(lineage)]


# ---------------------------------------------------------------- the room level


@dataclass(frozen=True)
class RoomPlan:
    """One room's plan: room_map's drawing with each unit's open alarms."""

    room: Location
    drawing: room_map.Drawing
    alarms: list[Alarm]
    unit_alarms: dict[str, int]


def room_plan(session: Session, room: Location) -> RoomPlan:
    """The room's units drawn by position, with the alarms in the room and in each unit."""
    found = [m for m in tallies.room_maps(session) if m.code == room.code]
    drawing = room_map.draw(found[0] if found else tallies.RoomMap(room.code, room.name))
    placed = alarm_places(session)
    lineage_of = dict(session.exec(
        select(Location.code, Location.lineage).where(Location.parent_id == room.id)).all())
    return RoomPlan(
        room=room, drawing=drawing, alarms=alarms_within(placed, room.lineage),
        unit_alarms={code: len(alarms_within(placed, lineage))
                     for code, lineage in lineage_of.items()},
    )


# ---------------------------------------------------------------- one unit zoomed in


@dataclass
class Place:
    """One location inside a unit with its boxes (all levels below), capacity and alarms."""

    location: Location
    boxes: int = 0
    capacity: int | None = None
    alarms: int = 0
    inside: list[Place] = field(default_factory=list)

    @property
    def fraction(self) -> float | None:
        """Boxes over capacity (0..1), None when the capacity is unknown."""
        if not self.capacity:
            return None
        return min(1.0, self.boxes / self.capacity)

    @property
    def pct(self) -> int | None:
        """The fill in whole percent."""
        return None if self.fraction is None else round(self.fraction * 100)

    @property
    def colour(self) -> str:
        """The fill colour, as the room map colours units."""
        return room_map.colour(self.fraction)

    @property
    def hatch(self) -> str | None:
        """The pattern over the fill, for the fuller bands."""
        return hatch(self.fraction)

    @property
    def band(self) -> str:
        """The legend band of the fill."""
        return band(self.fraction)


@dataclass(frozen=True)
class Shape:
    """A rectangle of the zoomed drawing, linking to its place."""

    place: Place
    x: float
    y: float
    w: float
    h: float
    label: str  # the short text drawn on it


@dataclass(frozen=True)
class UnitPlan:
    """One unit drawn from the front: sides side by side, sections as columns, shelves as rows."""

    unit: Place
    width: float
    height: float
    heads: list[Shape]    # sides and sections: named headers with their alarm badge
    shelves: list[Shape]  # the shelf's label at the start of its row
    cells: list[Shape]    # slots (or a shelf without slots): coloured by fill
    rows: list[Place]     # every place below the unit, in path order, for the table


def unit_places(session: Session, unit: Location) -> Place:
    """The unit and everything inside it, with boxes, capacity and open alarms summed up."""
    found = list(session.exec(
        select(Location).where(col(Location.lineage).startswith(unit.lineage))
        .order_by(Location.path)))
    counted = dict(session.exec(
        select(Box.location_id, func.count(col(Box.id)))
        .where(col(Box.location_id).in_([p.id for p in found]))
        .group_by(col(Box.location_id))).all())
    places = {p.id: Place(p, boxes=int(counted.get(p.id, 0))) for p in found}
    children: dict[int | None, list[Place]] = defaultdict(list)
    for p in found:
        children[p.parent_id].append(places[p.id])
    placed = alarm_places(session)
    for p in found:
        places[p.id].alarms = len(alarms_within(placed, p.lineage))

    def sum_up(place: Place) -> None:
        place.inside = sorted(children.get(place.location.id, []),
                              key=lambda c: (c.location.x if c.location.x is not None else 1e9,
                                             c.location.path))
        for child in place.inside:
            sum_up(child)
        place.boxes += sum(c.boxes for c in place.inside)
        stated = [c.capacity for c in place.inside if c.capacity is not None]
        # A place's own capacity is its word; else what its insides hold between them.
        place.capacity = place.location.capacity if place.location.capacity is not None \
            else (sum(stated) if stated else None)

    root = places[unit.id]
    sum_up(root)
    return root


def _columns(side: Place) -> list[Place]:
    # A side holds sections; a unit drawn without sides or sections still gets one column.
    sections = [c for c in side.inside if c.location.kind == "section"]
    return sections or [side]


def _shelves(column: Place) -> list[Place]:
    shelves = [c for c in column.inside if c.location.kind == "shelf"]
    return shelves or ([column] if column.location.kind == "shelf" else [])


def draw_unit(unit: Place) -> UnitPlan:
    """Lay the unit out: each side a panel, its sections columns, shelves rows, slots cells."""
    sides = [c for c in unit.inside if c.location.kind == "side"] or [unit]
    heads: list[Shape] = []
    shelf_labels: list[Shape] = []
    cells: list[Shape] = []
    x = PAD
    bottom = PAD
    for side in sides:
        side_x = x
        top = PAD + (SIDE_HEAD_H if side is not unit else 0)
        for column in _columns(side):
            shelves = _shelves(column)
            slots_across = max((len(s.inside) for s in shelves), default=1) or 1
            width = LABEL_W + slots_across * SLOT_W
            if column is not side:
                heads.append(Shape(column, x, top, width, HEAD_H - 2,
                                   room_map.short_name(column.location.name)))
            y = top + (HEAD_H if column is not side else 0)
            for shelf in shelves:
                shelf_labels.append(Shape(shelf, x, y, LABEL_W - 2, SHELF_H - 2,
                                          room_map.short_name(shelf.location.name)))
                slots = shelf.inside or [shelf]
                for n, slot in enumerate(slots):
                    cells.append(Shape(slot, x + LABEL_W + n * SLOT_W, y, SLOT_W - 2,
                                       SHELF_H - 2, room_map.short_name(slot.location.name)))
                y += SHELF_H
            bottom = max(bottom, y)
            x += width + GAP
        if side is not unit:
            heads.append(Shape(side, side_x, PAD, x - GAP - side_x, SIDE_HEAD_H - 2,
                               side.location.name))
        x += GAP
    rows: list[Place] = []

    def walk(place: Place) -> None:
        for child in place.inside:
            rows.append(child)
            walk(child)

    walk(unit)
    return UnitPlan(unit=unit, width=max(x - GAP, 120) + PAD, height=bottom + PAD,
                    heads=heads, shelves=shelf_labels, cells=cells, rows=rows)


# ---------------------------------------------------------------- the page


@router.get("/rooms/{code}/plan")
def plan_page(code: str, page: AnyonePage, unit: str | None = None) -> Response:
    """A room's plan: units by position, coloured by fill; ?unit= zooms into one unit."""
    session = page.session
    try:
        room = locations.by_code(session, code)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    if room.kind != "room":
        raise PageRefused("not_found", message=f"{code} is a {room.kind}, not a room")
    plan = room_plan(session, room)
    zoomed = None
    if unit:
        try:
            chosen = locations.by_code(session, unit)
        except NotFound as exc:
            raise PageRefused("not_found", message=page.say(exc)) from exc
        if chosen.kind != "unit" or chosen.parent_id != room.id:
            raise PageRefused("not_found", message=f"{unit} is not a unit of {room.code}")
        zoomed = draw_unit(unit_places(session, chosen))
    return render(page, "room_plan.html", live=("box", "alarm"), plan=plan, zoomed=zoomed,
                  bands=BANDS, band_sample={b: room_map.colour(f) for b, f in BAND_SAMPLE.items()},
                  hatched=HATCHED, hatch_of=hatch, band_of=band,
                  show_alarms=page.person.role in WATCHERS)
