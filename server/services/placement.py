"""Where a box is, judged from what shelf antennas hear, with cross-reads filtered out.

A shelf reader reports in inventory rounds: each message says what every one of its antennas
heard in one round. A tag on a shelf is heard by its own antenna, strongly and repeatedly,
and now and then, weakly and once, by the antenna of the next shelf.

So a box is moved to another location only when
- that location heard it at least `min_reads` times in one round (a one-off cross-read is
  heard once), and
- the place it is at has gone quiet: its antenna finished `quiet_rounds` rounds without
  hearing it (or nothing was heard there for `stale_s`), or it hears the box clearly less
  (fewer reads and more than `rssi_margin_db` weaker) than the new place does.
Evidence older than `window_s` is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class Heard:
    """What one location's antenna heard of one box within the window."""

    count: int
    rssi: float
    last: float
    peak: int  # the most reads in one round


class Placement:
    """Evidence per box and location, and the antennas' rounds; pure, no database."""

    def __init__(
        self,
        *,
        window_s: float = 60.0,
        min_reads: int = 2,
        rssi_margin_db: float = 3.0,
        quiet_rounds: int = 2,
        stale_s: float = 30.0,
    ) -> None:
        self.window_s = window_s
        self.min_reads = min_reads
        self.rssi_margin_db = rssi_margin_db
        self.quiet_rounds = quiet_rounds
        self.stale_s = stale_s
        self._heard: dict[int, dict[int, Heard]] = {}
        self._rounds: dict[int, list[float]] = {}  # location → its antenna's latest round times

    def hear(self, box_id: int, location_id: int, count: int, rssi: float, at: float) -> None:
        """Record that location's antenna heard the box `count` times at `rssi` dBm."""
        places = self._heard.setdefault(box_id, {})
        heard = places.get(location_id)
        if heard is None or at - heard.last > self.window_s:
            places[location_id] = Heard(count, rssi, at, count)
            return
        if at == heard.last:  # the same round, reported in pieces
            heard.peak += count
        elif count > heard.peak:
            heard.peak = count
        heard.count += count
        if rssi > heard.rssi:
            heard.rssi = rssi
        heard.last = at

    def round_done(self, location_ids: Iterable[int], at: float) -> None:
        """The antennas of these locations finished an inventory round at `at`."""
        keep = self.quiet_rounds
        for location_id in location_ids:
            rounds = self._rounds.get(location_id)
            if rounds is None:
                self._rounds[location_id] = [at]
            elif at > rounds[-1]:
                rounds.append(at)
                if len(rounds) > keep:
                    del rounds[0]

    def _quiet(self, location_id: int, heard: Heard | None, now: float) -> bool:
        if heard is None or now - heard.last > self.stale_s:
            return True
        rounds = self._rounds.get(location_id, ())
        return sum(1 for t in rounds if t > heard.last) >= self.quiet_rounds

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
        candidates = [
            (h.count, h.rssi, location_id)
            for location_id, h in places.items()
            if location_id != current and h.peak >= self.min_reads
            and not self._quiet(location_id, h, now)
        ]
        if not candidates:
            return None
        count, rssi, best_id = max(candidates)
        here = places.get(current) if current is not None else None
        if current is not None and not self._quiet(current, here, now) and (
            here.count >= count or here.rssi + self.rssi_margin_db >= rssi
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
