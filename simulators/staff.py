"""The people in the room: they move boxes, carry them out and back, and shelve with a scanner.

Nobody tells the server what they do; the readers, the gate and the scanner do.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.clock import SimClock
from simulators.room import Move, RoomTruth

log = logging.getLogger(__name__)

PEOPLE = ("wang", "li", "chen", "zhao", "liu")

Door = Callable[[str, str], bool]  # (box, room) → True when a gate saw it pass
ShelvingScan = Callable[[list[str], str], bool]  # (codes in order, operator) → True when sent


@dataclass(frozen=True, slots=True)
class StaffRates:
    """How often people do things, per simulated hour, and how long a box stays out."""

    moves_per_hour: float = 20.0
    removals_per_hour: float = 1.0
    shelving_per_hour: float = 6.0
    away_s: tuple[float, float] = (300.0, 1200.0)
    boxes_per_shelving: tuple[int, int] = (1, 3)


def happens(rate_per_hour: float, dt_s: float, rng: random.Random) -> bool:
    """Whether an event of a Poisson process with this rate happens within dt_s seconds."""
    if rate_per_hour <= 0 or dt_s <= 0:
        return False
    return rng.random() < 1.0 - math.exp(-rate_per_hour * dt_s / 3600.0)


class Staff:
    """Archive staff acting on the room's truth at random, or when asked."""

    def __init__(self, truth: RoomTruth, clock: SimClock, rng: random.Random,
                 rates: StaffRates = StaffRates(), *, door: Door | None = None,
                 scan: ShelvingScan | None = None) -> None:
        self.truth = truth
        self.clock = clock
        self.rng = rng
        self.rates = rates
        self.door = door or (lambda _box, _room: False)
        self.scan = scan or (lambda _codes, _operator: False)
        self.away: dict[str, tuple[float, str | None]] = {}  # box → (back at, where it was)
        self.shelving: dict[str, str | None] = {}  # box scanned onto a slot → where it was

    def tick(self, dt_s: float) -> None:
        """Let dt_s simulated seconds pass: people may act, boxes away may come back."""
        rates, rng = self.rates, self.rng
        if happens(rates.moves_per_hour, dt_s, rng):
            self.move_a_box()
        if happens(rates.removals_per_hour, dt_s, rng):
            self.take_out()
        if happens(rates.shelving_per_hour, dt_s, rng):
            self.shelve()
        now = self.clock.elapsed()
        for box in [b for b, (due, _) in self.away.items() if due <= now]:
            self.bring_back(box)

    def _who(self) -> str:
        return self.rng.choice(PEOPLE)

    def move_a_box(self, box: str | None = None) -> Move | None:
        """Carry a box to a free slot on another shelf of its room."""
        truth = self.truth
        candidates = [box] if box else truth.shelved()
        if not candidates:
            return None
        box = self.rng.choice(candidates)
        source = truth.where(box)
        shelf = truth.shelf_of(source)
        free = [s for s in truth.free_slots(room=truth.room_of(source))
                if truth.shelf_of(s) != shelf]
        if not free:
            return None
        move = truth.put(box, self.rng.choice(free), by=self._who(), why="move",
                         at=self.clock.now())
        log.info("%s moved %s from %s to %s", move.by, box, move.source, move.target)
        return move

    def take_out(self, box: str | None = None) -> Move | None:
        """Carry a box out through its room's door, without a loan; it comes back later."""
        truth = self.truth
        candidates = [box] if box else truth.shelved()
        self.rng.shuffle(candidates)
        for box in candidates:
            room = truth.room_of(truth.where(box))
            if room is None or truth.is_out(box) or not self.door(box, room):
                continue
            source = truth.where(box)
            move = truth.take_out(box, by=self._who(), at=self.clock.now())
            lo, hi = self.rates.away_s
            self.away[box] = (self.clock.elapsed() + self.rng.uniform(lo, hi), source)
            log.info("%s carried %s out of %s through the door", move.by, box, room)
            return move
        return None

    def bring_back(self, box: str) -> Move | None:
        """A box that was out comes back through the door and goes onto a shelf."""
        _, source = self.away.pop(box, (0.0, None))
        truth = self.truth
        room = truth.room_of(source)
        if room is not None:
            self.door(box, room)
        free = truth.free_slots(room=room)
        if source is not None and (source in free or truth.places[source].kind != "slot"):
            target: str | None = source  # its place is still free (or is no slot at all)
        else:
            target = self.rng.choice(free) if free else None
        move = truth.put(box, target, by=self._who(), why="back", at=self.clock.now())
        log.info("%s brought %s back to %s", move.by, box, target or "a trolley")
        return move

    def shelve(self) -> list[str] | None:
        """A shelving session: scan a slot, put a few boxes there, scanning each."""
        truth, rng = self.truth, self.rng
        want = rng.randint(*self.rates.boxes_per_shelving)
        boxes = truth.loose()[:want]
        if not boxes:
            shelved = truth.shelved()
            boxes = rng.sample(shelved, min(want, len(shelved)))
        if not boxes:
            return None
        free = truth.free_slots(room_for=len(boxes))
        if not free:
            return None
        slot = rng.choice(free)
        boxes = [b for b in boxes if truth.where(b) != slot]
        operator = self._who()
        codes = [slot, *boxes]
        for box in boxes:
            self.shelving[box] = truth.where(box)
            truth.put(box, slot, by=operator, why="shelve", at=self.clock.now())
        if not self.scan(codes, operator):
            for box in boxes:  # nobody had a scanner: put them back
                truth.put(box, self.shelving.pop(box), by=operator, why="undo",
                          at=self.clock.now())
            return None
        log.info("%s shelved %s on %s with a scanner", operator, ", ".join(boxes), slot)
        return codes

    def scan_answered(self, box: str | None, ok: bool, message: str) -> None:
        """The scanner showed the server's answer; a refused box goes back where it was."""
        if box is None or box not in self.shelving:
            return
        previous = self.shelving.pop(box)
        if not ok:
            log.info("shelving %s was refused (%s); it goes back to %s", box, message,
                     previous or "the trolley")
            self.truth.put(box, previous, by="staff", why="refused", at=self.clock.now())
