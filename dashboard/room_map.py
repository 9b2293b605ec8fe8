"""Drawing a room: shelving units placed from their x/y and coloured by how full they are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from dashboard.tallies import RoomMap, UnitFill

UNIT_W, UNIT_H = 34, 110
GAP_X, GAP_Y = 10, 36
PAD = 8
EMPTY_COLOUR = "#d9dee4"  # capacity unknown: grey, not a claim that it is empty

# Occupancy bands: the legend names them in words, and the fuller ones are also hatched, so
# the plan is read without telling colours apart.
BANDS = ("empty", "some", "nearly", "full", "unknown")
# A colour for each band in the legend (the shapes use room_map.colour of their own fraction).
BAND_SAMPLE = {"empty": 0.0, "some": 0.4, "nearly": 0.85, "full": 1.0, "unknown": None}
HATCHED = {"nearly": "plan-hatch-nearly", "full": "plan-hatch-full"}


def band(fraction: float | None) -> str:
    """Which legend band a fill falls in."""
    if fraction is None:
        return "unknown"
    if fraction <= 0:
        return "empty"
    if fraction >= 1:
        return "full"
    return "nearly" if fraction >= 0.75 else "some"


def hatch(fraction: float | None) -> str | None:
    """The id of the pattern laid over a shape of this fill, if its band has one."""
    return HATCHED.get(band(fraction))


@dataclass(frozen=True)
class UnitShape:
    """One unit as an SVG rectangle."""

    unit: UnitFill
    x: float
    y: float
    w: float
    h: float
    colour: str
    short: str
    pct: int | None

    @property
    def band(self) -> str:
        """The legend band of the unit's fill."""
        return band(self.unit.fraction)

    @property
    def hatch(self) -> str | None:
        """The pattern over the fill, for the fuller bands."""
        return hatch(self.unit.fraction)


@dataclass(frozen=True)
class Drawing:
    """A room ready for the template: its size and its units."""

    room: RoomMap
    width: float
    height: float
    units: list[UnitShape]


def colour(fraction: float | None) -> str:
    """Green when empty through amber to red when full."""
    if fraction is None:
        return EMPTY_COLOUR
    hue = round(135 * (1 - fraction))
    light = round(80 - 22 * fraction)
    return f"hsl({hue}, 62%, {light}%)"


def short_name(name: str) -> str:
    """What fits on a narrow unit: its number if it has one ("Unit 03" → "03")."""
    numbers = re.findall(r"\d+", name)
    return numbers[-1] if numbers else name[:3]


def _spacing(values: list[float]) -> float:
    gaps = [b - a for a, b in pairwise(values) if b - a > 1e-9]
    return min(gaps) if gaps else 1.0


def draw(room: RoomMap) -> Drawing:
    """Place the room's units on a grid that keeps their relative positions."""
    placed = [(u, u.x, u.y) for u in room.units if u.x is not None and u.y is not None]
    loose = [u for u in room.units if u.x is None or u.y is None]
    points: list[tuple[UnitFill, float, float]] = []
    if placed:
        xs = sorted({x for _, x, _ in placed})
        ys = sorted({y for _, _, y in placed})
        gx, gy = _spacing(xs), _spacing(ys)
        for u, x, y in placed:
            points.append((u, (x - xs[0]) / gx, (y - ys[0]) / gy))
        next_row = max(p[2] for p in points) + 1
    else:
        next_row = 0.0
    # Units without a position go in a row of their own, in path order.
    for index, u in enumerate(loose):
        points.append((u, float(index), next_row))
    shapes = [
        UnitShape(
            unit=u, x=PAD + col * (UNIT_W + GAP_X), y=PAD + row * (UNIT_H + GAP_Y),
            w=UNIT_W, h=UNIT_H, colour=colour(u.fraction), short=short_name(u.name),
            pct=None if u.fraction is None else round(u.fraction * 100),
        )
        for u, col, row in points
    ]
    width = max((s.x + s.w for s in shapes), default=0) + PAD
    height = max((s.y + s.h for s in shapes), default=0) + PAD
    return Drawing(room=room, width=width, height=height, units=shapes)
