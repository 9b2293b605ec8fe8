"""RFID readers: what a shelf reader's antennas hear each report, and what a door gate sees.

Real reads are noisy: a tag is sometimes missed, counts and signal strength vary, the
next shelf's antenna now and then catches a tag weakly (a cross-read), and a reader whose
acknowledgement got lost publishes the same message again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from devices.events import TagRead, TagReads
from simulators.layout import DeviceSpec
from simulators.room import RoomTruth


@dataclass(frozen=True, slots=True)
class ReadNoise:
    """How imperfect the readers are."""

    miss: float = 0.05  # a tag on the shelf is not heard in one report
    count: tuple[int, int] = (2, 6)  # reads of one tag per report
    rssi_dbm: tuple[float, float] = (-58.0, -40.0)
    cross_read: float = 0.03  # the neighbouring antenna catches the tag once, weakly
    cross_rssi_dbm: float = -70.0
    duplicate: float = 0.02  # the whole message is published twice (same seq and ts)
    location_tags: bool = True  # slot and shelf tags are heard too

    def hear(self, epc: str, antenna: int, neighbours: list[int],
             rng: random.Random) -> list[TagRead]:
        """What one report holds for one tag on `antenna`: nothing, its read, maybe a cross-read."""
        if rng.random() < self.miss:
            return []
        lo, hi = self.rssi_dbm
        reads = [TagRead(epc, antenna, round(rng.uniform(lo, hi), 1), rng.randint(*self.count))]
        if neighbours and rng.random() < self.cross_read:
            rssi = round(self.cross_rssi_dbm + rng.uniform(-1.5, 1.5), 1)
            reads.append(TagRead(epc, rng.choice(neighbours), rssi, 1))
        return reads

    def location_tag(self, epc: str, antenna: int, rng: random.Random) -> TagRead:
        """A slot or shelf tag: fixed in place, so heard steadily."""
        return TagRead(epc, antenna, round(rng.uniform(-55.0, -45.0), 1), rng.randint(1, 3))

    def passing(self, epc: str, rng: random.Random) -> TagRead:
        """A tag carried through a door gate."""
        return TagRead(epc, 1, round(rng.uniform(-60.0, -48.0), 1), rng.randint(2, 4))

    def republish(self, rng: random.Random) -> bool:
        """True when this message goes out a second time."""
        return rng.random() < self.duplicate


class SequencedDevice:
    """A device's own message counter (`seq`), starting at 1."""

    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self.seq = 0

    @property
    def id(self) -> str:
        """The device id on the wire."""
        return self.spec.id

    def next_seq(self) -> int:
        """The seq of the next message."""
        self.seq += 1
        return self.seq


class ShelfReader(SequencedDevice):
    """A shelf reader: each antenna covers a location (a shelf) and everything on it."""

    def __init__(self, spec: DeviceSpec, truth: RoomTruth) -> None:
        super().__init__(spec)
        self.covers = {a: truth.subtree(code) for a, code in sorted(spec.antennas.items())
                       if code in truth.places}
        numbers = sorted(self.covers)
        self.neighbours = {
            a: [n for n in (numbers[i - 1] if i else None,
                            numbers[i + 1] if i + 1 < len(numbers) else None) if n is not None]
            for i, a in enumerate(numbers)
        }

    def report(self, truth: RoomTruth, noise: ReadNoise, rng: random.Random,
               ts: datetime) -> TagReads:
        """One `reads` message: what every antenna heard since the last report."""
        reads: list[TagRead] = []
        for antenna, codes in self.covers.items():
            for box in truth.boxes_under(codes):
                reads.extend(noise.hear(truth.epc[box], antenna, self.neighbours[antenna], rng))
            if noise.location_tags:
                reads.extend(noise.location_tag(truth.places[code].epc, antenna, rng)
                             for code in codes if rng.random() >= noise.miss)
        return TagReads(self.id, ts, self.next_seq(), tuple(reads))


class GateReader(SequencedDevice):
    """A reader at a room's door: it sees boxes that pass."""

    def passing(self, epcs: list[str], noise: ReadNoise, rng: random.Random,
                ts: datetime) -> TagReads:
        """The message for boxes carried through the door."""
        return TagReads(self.id, ts, self.next_seq(), tuple(noise.passing(e, rng) for e in epcs))
