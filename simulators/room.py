"""The room's physical truth: where each box really is, what is free, who moved what.

The server keeps its twin from what devices report; this is what the devices sense. It
starts from the server's own view and then changes only by what simulated people do.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from simulators.layout import BoxSpec, Place

OUTSIDE = None  # a box's location while it is out of the room


@dataclass(frozen=True, slots=True)
class Move:
    """One physical move of a box, by whom and why (`shelve`, `move`, `out`, `back`, ...)."""

    at: datetime
    box: str
    source: str | None
    target: str | None
    by: str
    why: str


class RoomTruth:
    """Where every box physically is; safe to use from several threads."""

    def __init__(self, places: dict[str, Place], boxes: list[BoxSpec], *, history: int = 1000):
        self.places = places
        self.epc = {b.code: b.epc for b in boxes}
        self._children: dict[str, list[str]] = {}
        for place in places.values():
            if place.parent in places:
                self._children.setdefault(place.parent, []).append(place.code)
        self._where: dict[str, str | None] = {}
        self._at: dict[str, set[str]] = {}
        self._out: set[str] = set()
        for box in boxes:
            # A box on loan is with its borrower, not in the room.
            here = box.location if box.location in places and box.status != "on_loan" else None
            self._where[box.code] = here
            if here is not None:
                self._at.setdefault(here, set()).add(box.code)
            elif box.status == "on_loan":
                self._out.add(box.code)
        self.moves: deque[Move] = deque(maxlen=history)
        self._lock = threading.RLock()

    # -- the tree ------------------------------------------------------------------------

    def subtree(self, code: str) -> list[str]:
        """The location and everything inside it."""
        out, todo = [], [code]
        while todo:
            here = todo.pop()
            out.append(here)
            todo.extend(self._children.get(here, ()))
        return out

    def room_of(self, code: str | None) -> str | None:
        """The room a location lies in."""
        while code is not None and code in self.places:
            place = self.places[code]
            if place.kind == "room":
                return code
            code = place.parent
        return None

    def shelf_of(self, code: str | None) -> str | None:
        """The shelf a slot lies on (or the location itself when it is no slot)."""
        if code is None:
            return None
        place = self.places.get(code)
        if place is not None and place.kind == "slot" and place.parent:
            return place.parent
        return code

    # -- where boxes are -----------------------------------------------------------------

    def where(self, box: str) -> str | None:
        """The location the box is physically at (None: loose in the room, or outside)."""
        with self._lock:
            return self._where.get(box)

    def is_out(self, box: str) -> bool:
        """True while the box is outside the room."""
        with self._lock:
            return box in self._out

    def boxes_under(self, codes: list[str]) -> list[str]:
        """Boxes physically at any of these locations."""
        with self._lock:
            return [b for code in codes for b in sorted(self._at.get(code, ()))]

    def occupancy(self, code: str) -> int:
        """Boxes physically at exactly this location."""
        with self._lock:
            return len(self._at.get(code, ()))

    def free_slots(self, *, room: str | None = None, room_for: int = 1) -> list[str]:
        """Slots with room for `room_for` more boxes (by capacity), optionally in one room."""
        with self._lock:
            return [
                p.code for p in self.places.values()
                if p.kind == "slot" and p.capacity is not None
                and p.capacity - len(self._at.get(p.code, ())) >= room_for
                and (room is None or self.room_of(p.code) == room)
            ]

    def shelved(self) -> list[str]:
        """Boxes on a location in the room."""
        with self._lock:
            return sorted(b for b, here in self._where.items() if here is not None)

    def loose(self) -> list[str]:
        """Boxes in the room but on no location (on a trolley, waiting to be shelved)."""
        with self._lock:
            return sorted(b for b, here in self._where.items()
                          if here is None and b not in self._out)

    # -- people act ----------------------------------------------------------------------

    def put(self, box: str, target: str | None, *, by: str, why: str, at: datetime) -> Move:
        """Carry a box to a location (None: off the shelves, still in the room)."""
        with self._lock:
            source = self._where.get(box)
            if source is not None:
                self._at[source].discard(box)
            if target is not None:
                self._at.setdefault(target, set()).add(box)
            self._where[box] = target
            self._out.discard(box)
            move = Move(at, box, source, target, by, why)
            self.moves.append(move)
            return move

    def take_out(self, box: str, *, by: str, at: datetime) -> Move:
        """Carry a box out of the room through the door."""
        with self._lock:
            move = self.put(box, None, by=by, why="out", at=at)
            self._out.add(box)
            return move
