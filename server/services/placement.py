"""Where a box is, judged from what shelf antennas hear, with cross-reads filtered out.

A tag on a shelf is usually heard by its own antenna, strongly and repeatedly, and now and
then, weakly, by the antenna of the next shelf. A box is placed at the location whose
antenna heard it most (then loudest) within a short window, and it is only moved when that
location heard it at least `min_reads` times and clearly beats where the box already is
(a location that has not heard the box for `stale_s` seconds no longer holds on to it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Heard:
    """What one location's antenna heard of one box within the window."""

    count: int
    rssi: float
    last: float


class Placement:
    """Evidence per box and location over a sliding window; pure, no database."""

    def __init__(self, *, window_s: float = 15.0, min_reads: int = 2, rssi_margin_db: float = 3.0,
                 stale_s: float = 5.0):
        self.window_s = window_s
        self.stale_s = stale_s
        self.min_reads = min_reads
        self.rssi_margin_db = rssi_margin_db
        self._heard: dict[int, dict[int, Heard]] = {}

    def hear(self, box_id: int, location_id: int, *, count: int, rssi: float, at: float) -> None:
        """Record that location's antenna heard the box `count` times at `rssi` dBm."""
        places = self._heard.setdefault(box_id, {})
        heard = places.get(location_id)
        if heard is None or at - heard.last > self.window_s:
            places[location_id] = Heard(count, rssi, at)
        else:
            heard.count += count
            if rssi > heard.rssi:
                heard.rssi = rssi
            heard.last = at

    def verdict(self, box_id: int, current: int | None, *, now: float) -> int | None:
        """The location the box should move to, or None to leave it where it is."""
        places = self._heard.get(box_id)
        if not places:
            return None
        for location_id in [k for k, h in places.items() if now - h.last > self.window_s]:
            del places[location_id]
        if not places:
            del self._heard[box_id]
            return None
        best_id, best = max(places.items(), key=lambda item: (item[1].count, item[1].rssi))
        if best_id == current or best.count < self.min_reads:
            return None
        here = places.get(current) if current is not None else None
        if (
            here is not None
            and now - here.last <= self.stale_s
            and (here.count >= best.count or here.rssi + self.rssi_margin_db >= best.rssi)
        ):
            return None  # still heard well where it is: the other antenna is cross-reading
        return best_id

    def forget_older_than(self, cutoff: float) -> None:
        """Drop evidence last heard before cutoff (keeps memory bounded)."""
        for box_id in list(self._heard):
            places = self._heard[box_id]
            for location_id in [k for k, h in places.items() if h.last < cutoff]:
                del places[location_id]
            if not places:
                del self._heard[box_id]

    def __len__(self) -> int:
        return len(self._heard)
