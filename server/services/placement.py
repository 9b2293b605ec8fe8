"""Where a box is: every rule that turns what RFID readers hear into the twin.

One home for the room's RFID rules; ingest only queues, batches and retries, and hands each
reader's message to `Placement.heard`, then calls `Placement.settle` once per batch.

- **Shelf rounds.** A shelf reader reports in inventory rounds: each message says what every
  one of its antennas heard in one round. A tag on a shelf is heard by its own antenna,
  strongly and repeatedly, and now and then, weakly and once, by the antenna of the next
  shelf. So a box is moved to another location only when that location heard it at least
  `min_reads` times in one round (a one-off cross-read is heard once), and the place it is at
  has gone quiet (its antenna finished `quiet_rounds` rounds without hearing it, or nothing
  was heard there for `stale_s`) or hears the box clearly less (fewer reads and more than
  `rssi_margin_db` weaker) than the new place does. Evidence older than `window_s` is
  forgotten (`Evidence`, pure).
- **Antenna coverage.** Antennas usually cover shelves while boxes sit in slots: a shelf
  antenna hearing a box in one of its slots leaves it in the slot. For the same reason a box
  is at home at its home slot or at the antenna's place that covers that slot
  (`coverage.at_home`, which `boxes.present` asks for every box shown).
- **Capacity.** A reader reports where a box physically is, so the twin follows it even into
  a full place, and raises an `over_capacity` alarm there.
- **The gate.** A box heard at a room's door without being on loan raises a critical
  `unauthorized_removal` alarm (reread before raising: a box lent a moment ago passes).
- **Back from a loan.** A lent box that a shelf reader settles on a shelf was brought back:
  its loan ends there (`loans.give_back`, as shelving it by scan does), by the reader.
- **Handheld sweeps.** A handheld reader counting an open stocktake
  (`stocktake.counting`) counts what it hears for that stocktake and moves nothing; a
  location tag (SGLN-96) in the message sets where the message's boxes are seen.
- **Found again.** A missing box that any reader hears is found: back `on_shelf` (or
  `in_transit` when it has no place), its `box_missing` alarm cleared.
- **Last seen.** Sightings are remembered in memory and written in bulk every few seconds;
  the missing-box job reads them from there.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, col, select

from devices.events import TagReads
from labels.identifiers import BOX, InvalidIdentifier, identify
from server.clock import now
from server.models.columns import saved_id, saved_ids
from server.models.holdings import Box, BoxStatus
from server.models.places import Location
from server.models.stocktakes import Stocktake
from server.services import alarms, boxes, loans, locations, stocktake
from server.services.codes import CodeScheme
from server.services.errors import Conflict
from server.services.translations import said

BOXES_TTL_S = 30.0
LAST_SEEN_FLUSH_S = 5.0
UNKNOWN_EPC_TTL_S = 10.0  # a box registered after its tag was first heard is found this soon
UNKNOWN_EPCS_KEPT = 200_000


@dataclass(slots=True)
class Heard:
    """What one location's antenna heard of one box within the window."""

    count: int
    rssi: float
    last: float
    peak: int  # the most reads in one round


class Evidence:
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
        if current is not None and here is not None and not self._quiet(current, here, now) and (
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


@dataclass(slots=True)
class Reader:
    """What the room's rules need to know of a registered device."""

    id: str
    type: str
    role: str | None
    room_id: int | None
    room_path: str | None
    antennas: dict[int, int] = field(default_factory=dict)  # antenna → location id


class Placement:
    """The room's RFID rules, and what they remember between batches (per process).

    The caches: box locations (30 s), the few missing or on-loan boxes (`status_ttl_s`), which
    EPCs name which boxes. Before acting on a move the box is reread, so a move made by a
    person or another worker in between is respected.
    """

    def __init__(self, scheme: CodeScheme, *, evidence: Evidence | None = None,
                 status_ttl_s: float = 1.0) -> None:
        self.scheme = scheme
        self.evidence = evidence or Evidence()
        self.status_ttl_s = status_ttl_s
        # location id → the deepest antenna location it lies in (a slot on a covered shelf),
        # and antenna location → every location inside it
        self._holder: dict[int, int] = {}
        self._inside: dict[int, set[int]] = {}
        self._boxes: dict[int, list] = {}  # box id → [location id, status]
        self._boxes_at = -1e9
        # Few boxes are missing or on loan, and others (jobs, the API, other workers) change
        # that: these two sets are reread every status_ttl_s.
        self._missing: set[int] = set()
        self._on_loan: set[int] = set()
        self._status_at = -1e9
        self._last_seen: dict[int, tuple[datetime, str]] = {}
        self._last_seen_at = time.monotonic()
        self._epc_box: dict[str, int] = {}  # EPC hex → box id, for boxes that exist
        self._epc_unknown: dict[str, float] = {}  # EPC hex → when it named no box
        self._heard: set[int] = set()  # boxes heard away from their place in this batch
        self._latest = 0.0  # the newest shelf round in this batch (device time)

    # -- around a batch --------------------------------------------------------------

    def begin(self, session: Session) -> None:
        """Start a batch: reread what went stale."""
        self._heard, self._latest = set(), 0.0
        clock = time.monotonic()
        if clock - self._boxes_at > BOXES_TTL_S:
            self._boxes = {
                box_id: [location_id, status]
                for box_id, location_id, status in session.exec(
                    select(Box.id, Box.location_id, Box.status).where(Box.status != BoxStatus.DISPOSED)
                )
                if box_id is not None
            }
            self._boxes_at = clock
        if clock - self._status_at >= self.status_ttl_s:
            self._missing, self._on_loan = set(), set()
            for box_id, status in session.exec(
                select(Box.id, Box.status).where(col(Box.status).in_((BoxStatus.MISSING, BoxStatus.ON_LOAN)))
            ):
                if box_id is not None:
                    (self._missing if status == BoxStatus.MISSING else self._on_loan).add(box_id)
            self._status_at = clock

    def forget(self) -> None:
        """A batch was rolled back: what was cached from it may be wrong."""
        self._boxes_at = self._status_at = -1e9

    def cover(self, session: Session, readers: Iterable[Reader]) -> None:
        """Learn which locations each shelf antenna covers (call when the registry changes)."""
        places = {loc for r in readers for loc in r.antennas.values()}
        holder: dict[int, int] = {}
        inside: dict[int, set[int]] = {}
        covered = session.exec(
            select(Location.id, Location.lineage).where(col(Location.id).in_(list(places)))
        ).all() if places else []
        for antenna_place, lineage in sorted(covered, key=lambda row: len(row[1])):
            if antenna_place is None:
                raise RuntimeError("a location read back from the database has no id")
            inside[antenna_place] = set(saved_ids(session.exec(
                select(col(Location.id)).where(col(Location.lineage).startswith(lineage))
            )))
            for location_id in inside[antenna_place]:
                holder[location_id] = antenna_place  # deeper antennas come later and win
        self._holder, self._inside = holder, inside

    def remember(self, box: Box) -> None:
        """A box was placed by another rule of this batch (a scan): keep its place in mind."""
        self._boxes[saved_id(box)] = [box.location_id, box.status]

    # -- what readers hear -----------------------------------------------------------

    def heard(self, session: Session, reader: Reader, event: TagReads) -> tuple[int, list[str]]:
        """Take in one reader's message: (reads that named a box, problems to keep as rejects)."""
        if reader.role == "handheld":
            counting = stocktake.counting(session, reader.id)
            if counting is not None:
                return self._sweep(session, reader, event, counting)
        unknown: list[str] = []
        stray_antennas: set[int] = set()
        at = event.ts.timestamp()
        seen = (event.ts, reader.id)
        known = self._epc_box.get
        last_seen = self._last_seen
        missing = self._missing
        role = reader.role
        antennas = reader.antennas
        hear = self.evidence.hear
        heard = self._heard
        where_is = self._boxes.get
        holder = self._holder
        applied = 0
        # The hot path of the whole server: keep it to dictionary look-ups.
        for epc, antenna, rssi, count in event.reads:
            box_id = known(epc)
            if box_id is None:
                box_id = self._box_of(session, epc)
                if box_id is None:
                    if not self._is_location_tag(epc):  # slot tags are heard all the time
                        unknown.append(epc)
                    continue
            applied += 1
            last_seen[box_id] = seen
            if role == "shelf":
                location_id = antennas.get(antenna)
                if location_id is None:
                    stray_antennas.add(antenna)
                    continue
                hear(box_id, location_id, count, rssi, at)
                where = where_is(box_id)
                if where is None or holder.get(where[0], where[0]) != location_id:
                    heard.add(box_id)  # heard away from where the twin has it: judge it
            elif role == "gate":
                self._crossed_gate(session, reader, box_id)
            if box_id in missing:
                self._found(session, box_id, reader)
        if role == "shelf":
            self.evidence.round_done(antennas.values(), at)
            if at > self._latest:
                self._latest = at
        problems = []
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            problems.append(f"{len(unknown)} unknown EPC(s), no registered box: {shown}")
        if stray_antennas:
            problems.append(f"antenna(s) {sorted(stray_antennas)} of {reader.id} are not mapped "
                            "to a location")
        return applied, problems

    def settle(self, session: Session) -> int:
        """Move the boxes this batch's evidence says have moved; how many moved."""
        at = self._latest  # judged on the readers' clock, as the evidence is
        moved = 0
        for box_id in sorted(self._heard):  # one lock order in every worker
            cached = self._boxes.get(box_id)
            if cached is None:
                continue
            target = self._verdict(box_id, cached[0], at)
            if target is None:
                continue
            box = session.get(Box, box_id)
            assert box is not None
            if box.location_id != cached[0]:  # moved meanwhile by a person or another worker
                cached[0], cached[1] = box.location_id, box.status
                if self._verdict(box_id, box.location_id, at) is None:
                    continue
            place = session.get(Location, target)
            assert place is not None
            _, device = self._last_seen.get(box_id, (now(), None))
            if box.status == BoxStatus.ON_LOAN and loans.open_loan(session, box) is not None:
                # No loan stays open on a shelved box: a lent box a shelf reader settles on a
                # shelf was brought back, exactly as if it had been scanned in shelve mode.
                moved_box, _ = loans.give_back(session, box.code, to=place.code,
                                               actor=device or "rfid", check_capacity=False)
                self._on_loan.discard(box_id)
                cached[0], cached[1] = moved_box.location_id, moved_box.status
            else:
                moved_box, movement = boxes.move_box(session, box.code, to=place.code,
                                                     reason="rfid", device=device,
                                                     check_capacity=False)
                cached[0], cached[1] = moved_box.location_id, moved_box.status
                if movement is None:
                    continue
            moved += 1
            if place.capacity is not None and locations.occupancy(session, saved_id(place)) > place.capacity:
                alarms.raise_alarm(
                    session, kind="over_capacity", subject=place.code, severity="warning",
                    message=said("{path} holds more boxes than its capacity of {capacity}",
                                 path=place.path, capacity=place.capacity))
        return moved

    def flush_last_seen(self, engine: Engine, *, force: bool = False) -> bool:
        """Write the sightings remembered since the last flush (every few seconds)."""
        if not self._last_seen or (
            not force and time.monotonic() - self._last_seen_at < LAST_SEEN_FLUSH_S
        ):
            return False
        pending, self._last_seen = self._last_seen, {}
        self._last_seen_at = time.monotonic()
        rows = [{"b_id": box_id, "b_at": ts, "b_by": by} for box_id, (ts, by) in pending.items()]
        table = Box.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(last_seen_at=bindparam("b_at"), last_seen_by=bindparam("b_by"))
        )
        with engine.begin() as conn:
            conn.execute(statement, rows)
        self.evidence.forget_older_than(time.time() - 2 * self.evidence.window_s)
        return True

    # -- the rules -------------------------------------------------------------------

    def _sweep(self, session: Session, reader: Reader, event: TagReads,
               counting: Stocktake) -> tuple[int, list[str]]:
        """A handheld's message during a stocktake: count its boxes where its location tag
        says (the one heard best, if several; none: somewhere in the scope). Moves nothing."""
        box_ids: list[int] = []
        places: list[tuple[int, float, str]] = []
        unknown: list[str] = []
        for epc, _antenna, rssi, count in event.reads:
            box_id = self._epc_box.get(epc) or self._box_of(session, epc)
            if box_id is not None:
                box_ids.append(box_id)
                continue
            code = self._location_code(epc)
            if code is not None:
                places.append((count, rssi, code))
            else:
                unknown.append(epc)
        problems = []
        seen = None
        if places:
            code = max(places)[2]
            seen = session.exec(select(Location).where(Location.code == code)).first()
            if seen is None:
                problems.append(f"location tag {code} names no location")
        if seen is not None and not stocktake.within(stocktake.scope_of(session, counting), seen):
            problems.append(f"{reader.id} heard {seen.code} ({seen.path}), outside stocktake "
                            f"{counting.id}'s scope: its boxes were not counted")
            box_ids = []
        if places and seen is None:
            box_ids = []
        when = (event.ts, reader.id)
        for box_id in dict.fromkeys(box_ids):
            box = session.get(Box, box_id)
            if box is None:
                continue
            self._last_seen[box_id] = when
            try:
                stocktake.count(session, counting, box=box, seen=seen, source=stocktake.RFID,
                                by=reader.id)
            except Conflict:  # applied or cancelled since counting() was asked
                problems.append(f"stocktake {counting.id} closed while {reader.id} was "
                                "counting: the rest of the message was not counted")
                break
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            problems.append(f"{len(unknown)} unknown EPC(s), no registered box: {shown}")
        return len(box_ids), problems

    def _location_code(self, epc: str) -> str | None:
        try:
            found = identify(epc, company_prefix=self.scheme.company_prefix,
                             site_number=self.scheme.site_number)
        except InvalidIdentifier:
            return None
        return found.code if found is not None and found.kind != BOX else None

    def _verdict(self, box_id: int, location_id: int | None, at: float) -> int | None:
        current = self._holder.get(location_id, location_id) if location_id is not None else None
        target = self.evidence.verdict(box_id, current, now=at)
        if target is None or location_id in self._inside.get(target, ()):
            return None  # a shelf antenna hearing a box in one of its slots: it is where it is
        return target

    def _crossed_gate(self, session: Session, reader: Reader, box_id: int) -> None:
        if box_id in self._on_loan:
            return  # expected: it left on a loan
        box = session.get(Box, box_id)
        assert box is not None
        if box.status == BoxStatus.ON_LOAN:  # lent since the cache was read: still expected
            self._on_loan.add(box_id)
            return
        door = reader.room_path or reader.id
        alarms.raise_alarm(
            session, kind="unauthorized_removal", subject=box.code, severity="critical",
            message=said("box {code} passed the door of {door} without a loan ({reader})",
                         code=box.code, door=door, reader=reader.id))

    def _found(self, session: Session, box_id: int, reader: Reader) -> None:
        box = session.get(Box, box_id)
        assert box is not None
        box.status = BoxStatus.ON_SHELF if box.location_id else BoxStatus.IN_TRANSIT
        self._boxes[box_id][1] = box.status
        self._missing.discard(box_id)
        alarms.clear_condition(session, kind="box_missing", subject=box.code)
        boxes.tell_changed(session, box, reason="found", by=reader.id)

    # -- which EPC is which box ------------------------------------------------------

    def _box_of(self, session: Session, epc: str) -> int | None:
        """The box an EPC names (remembered), or None; unknown EPCs are asked again later."""
        asked = self._epc_unknown.get(epc)
        if asked is not None and time.monotonic() - asked < UNKNOWN_EPC_TTL_S:
            return None
        box_id = self._lookup_box(session, epc)
        if box_id is None:
            if len(self._epc_unknown) > UNKNOWN_EPCS_KEPT:
                self._epc_unknown.clear()
            self._epc_unknown[epc] = time.monotonic()
        else:
            self._epc_box[epc] = box_id
        return box_id

    def _lookup_box(self, session: Session, epc: str) -> int | None:
        try:
            found = identify(epc, company_prefix=self.scheme.company_prefix,
                             site_number=self.scheme.site_number)
        except InvalidIdentifier:
            return None
        if found is None or found.kind != BOX:
            return None
        if found.number not in self._boxes:
            box = session.get(Box, found.number)
            if box is None or box.code != found.code:
                return None
            self._boxes[saved_id(box)] = [box.location_id, box.status]
        return found.number

    def _is_location_tag(self, epc: str) -> bool:
        try:
            found = identify(epc, company_prefix=self.scheme.company_prefix,
                             site_number=self.scheme.site_number)
        except InvalidIdentifier:
            return False
        return found is not None and found.kind != BOX
