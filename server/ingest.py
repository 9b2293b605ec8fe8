"""The one bridge from device events to the twin: batches, drops duplicates, commits.

Transports (MQTT, serial) call `submit(item, ack)` from their own threads. One ingest thread
takes what has queued up and applies it in one transaction: the messages' keys (device, seq,
ts) go into the database in that same transaction, so a redelivery is a duplicate whichever
worker gets it and however often the server restarted; the twin's changes write their news
to the outbox (server/services/news.py) in it too. Only after the commit is each message
acknowledged to the broker, so a crash loses nothing that was acknowledged.
A batch that fails is rolled back whole and retried item by item, so one bad item never
costs the others; an item that still fails is kept as a reject with its reason and bytes.
Nothing stops ingestion.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, col, select

from devices.codecs import mqtt_json
from devices.events import ClimateReading, DeviceStatus, Reject, Scan, TagReads
from labels.identifiers import BOX, InvalidIdentifier, identify
from server.clock import as_utc, now
from server.models.devices import Device
from server.models.holdings import Box
from server.models.places import Location
from server.services import alarms, boxes, climate, devices, locations, news, scan
from server.services.codes import CodeScheme
from server.services.placement import Placement

log = logging.getLogger(__name__)

Item = TagReads | Scan | ClimateReading | DeviceStatus | Reject
Ack = Callable[[], None]
Entry = tuple[Item, Ack | None]

SEEN_KEYS = 200_000  # bound on the EPCs remembered as naming no box
REGISTRY_TTL_S = 5.0
BOXES_TTL_S = 30.0
LAST_SEEN_FLUSH_S = 5.0
UNKNOWN_EPC_TTL_S = 10.0  # a box registered after its tag was first heard is found this soon


@dataclass(slots=True)
class Reader:
    """What ingest needs to know of a registered device."""

    id: str
    type: str
    role: str | None
    room_id: int | None
    room_path: str | None
    antennas: dict[int, int] = field(default_factory=dict)  # antenna → location id


@dataclass(slots=True)
class IngestCounters:
    """What ingest has taken in, for /healthz, the dashboard and the benchmarks."""

    messages: int = 0
    reads: int = 0
    reads_applied: int = 0
    duplicates: int = 0
    from_the_future: int = 0
    rejects: int = 0
    moves: int = 0
    batches: int = 0
    failed_batches: int = 0


@dataclass(slots=True)
class _Batch:
    """What one batch is changing, gathered to write once per batch."""

    touched: dict[str, tuple[datetime, int | None]] = field(default_factory=dict)
    said_status: set[str] = field(default_factory=set)
    heard: set[int] = field(default_factory=set)
    latest: float = 0.0  # the newest shelf round in the batch (device time)
    samples: list[tuple[str, int | None, datetime, float, float]] = field(default_factory=list)


class Ingest:
    """Apply device events to the twin in batches, on one thread of its own."""

    def __init__(
        self,
        engine: Engine,
        *,
        scheme: CodeScheme,
        root: str = mqtt_json.DEFAULT_ROOT,
        placement: Placement | None = None,
        batch_max: int = 2000,
        linger_s: float = 0.02,
        status_ttl_s: float = 1.0,
        server_ids: frozenset[str] = frozenset(),
        clock_ahead_s: float = 300.0,
    ) -> None:
        self.engine = engine
        self.scheme = scheme
        self.topics = mqtt_json.topics(root)
        self.clock_ahead = timedelta(seconds=clock_ahead_s)
        self.placement = placement or Placement()
        self.batch_max = batch_max
        self.linger_s = linger_s
        self.status_ttl_s = status_ttl_s
        self.server_ids = server_ids  # our own status topic comes back to us: not a device
        self.counters = IngestCounters()
        self.targets = scan.ScanTargets()
        self._queue: queue.Queue[Entry] = queue.Queue()
        self._in_flight = 0
        self._idle = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry: dict[str, Reader] = {}
        # location id → the deepest antenna location it lies in (a slot on a covered shelf),
        # and antenna location → every location inside it
        self._holder: dict[int, int] = {}
        self._inside: dict[int, set[int]] = {}
        self._registry_at = -1e9
        self._boxes: dict[int, list] = {}  # box id → [location id, status]
        self._boxes_at = -1e9
        # Few boxes are missing or on loan, and others (jobs, the API, other workers) change
        # that: these two sets are reread every status_ttl_s.
        self._missing: set[int] = set()
        self._on_loan: set[int] = set()
        self._status_at = -1e9
        self._last_seen: dict[int, tuple[datetime, str]] = {}
        self._epc_box: dict[str, int] = {}  # EPC hex → box id, for boxes that exist
        self._epc_unknown: dict[str, float] = {}  # EPC hex → when it named no box
        self._last_seen_at = time.monotonic()

    # -- the outside ---------------------------------------------------------------

    def submit(self, item: Item, ack: Ack | None = None) -> None:
        """Queue an event or reject from any thread; `ack` is called once it is committed."""
        self._queue.put((item, ack))

    def start(self) -> None:
        """Start the ingest thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Apply what is queued, then stop."""
        if self._thread is not None:
            self.drain(timeout)
            self._stop.set()
            self._thread.join(timeout)
            self._thread = None
        self._flush_last_seen(force=True)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue.unfinished_tasks or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    # -- the loop ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            items = self._take()
            if items:
                self._in_flight = len(items)
                try:
                    self._apply_safely(items)
                finally:
                    for _ in items:
                        self._queue.task_done()
                    with self._idle:
                        self._in_flight = 0
                        self._idle.notify_all()
            try:
                if self._flush_last_seen():
                    self.placement.forget_older_than(time.time() - 2 * self.placement.window_s)
            except Exception:  # the next flush tries again
                log.exception("could not write last-seen times")

    def _take(self) -> list[Entry]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.linger_s
        while len(items) < self.batch_max:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.002)
        return items

    def _apply_safely(self, entries: list[Entry]) -> None:
        try:
            self._apply([item for item, _ in entries])
        except Exception:
            log.exception("a batch of %d items failed; applying them one by one", len(entries))
            self.counters.failed_batches += 1
            # the caches may hold what was rolled back
            self._boxes_at = self._registry_at = self._status_at = -1e9
        else:
            _acknowledge(entries)
            return
        for item, ack in entries:
            try:
                self._apply([item])
            except Exception as exc:
                log.exception("an item failed on its own: %r", item)
                if not self._keep_failure(item, f"could not be applied: {type(exc).__name__}: "
                                                f"{exc}"):
                    continue  # not acknowledged: the broker offers it again after a restart
            _acknowledge([(item, ack)])

    def _keep_failure(self, item: Item, reason: str) -> bool:
        """Keep an item that cannot be applied as a reject; False if even that failed."""
        try:
            with Session(self.engine) as session:
                topic, raw = _wire(item, self.topics)
                device = getattr(item, "device_id", None)
                devices.keep_reject(session, topic=_printable(topic), reason=_printable(reason),
                                    raw=raw, device=_printable(device) if device else None)
                news.tell(session, news.DeviceRejected(device=device and _printable(device),
                                                       reason=_printable(reason)))
                session.commit()
            self.counters.rejects += 1
            return True
        except Exception:
            log.exception("could not even keep the failure of %r", item)
            return False

    # -- one batch -----------------------------------------------------------------

    def _apply(self, items: list[Item]) -> None:
        batch = _Batch()
        with Session(self.engine, expire_on_commit=False) as session:
            self._refresh_caches(session)
            fresh = self._first_taken(session, items)
            counts: Counter[str] = Counter()
            for item in items:
                if isinstance(item, Reject):
                    devices.keep_reject(session, topic=item.source, reason=item.reason, raw=item.raw,
                                        device=item.device_id, ts=item.ts)
                    self.counters.rejects += 1
                    news.tell(session, news.DeviceRejected(device=item.device_id,
                                                           reason=item.reason))
                    continue
                if isinstance(item, DeviceStatus) and item.device_id in self.server_ids:
                    continue
                self.counters.messages += 1
                key = _key(item)
                if key is not None and fresh is not None:
                    if key not in fresh:  # taken in before, or earlier in this batch
                        self.counters.duplicates += 1
                        continue
                    fresh.discard(key)
                if item.ts > self._latest_allowed:
                    self.counters.from_the_future += 1
                    self._reject(session, item,
                                 f"ts {mqtt_json.format_ts(item.ts)} is more than "
                                 f"{self.clock_ahead.total_seconds():.0f} s ahead of the server "
                                 f"clock ({mqtt_json.format_ts(now())}): set the device's clock")
                    continue
                reader = self._reader(session, item.device_id)
                if reader is None:
                    self._reject(session, item,
                                 f"unknown device {item.device_id!r}: register it first "
                                 "(POST /api/devices)")
                    continue
                batch.touched[reader.id] = (item.ts, getattr(item, "seq", None))
                if isinstance(item, TagReads):
                    counts[reader.id] += len(item.reads)
                    self._tag_reads(session, batch, reader, item)
                elif isinstance(item, Scan):
                    counts[reader.id] += 1
                    self._scan(session, batch, reader, item)
                elif isinstance(item, ClimateReading):
                    counts[reader.id] += 1
                    self._climate(session, batch, reader, item)
                elif isinstance(item, DeviceStatus):
                    self._status(session, batch, reader, item)
            self._decide_moves(session, batch)
            climate.store(session, batch.samples)
            self._touch_devices(session, batch, counts)
            session.commit()
        self.counters.batches += 1

    @property
    def _latest_allowed(self) -> datetime:
        return now() + self.clock_ahead

    def _first_taken(self, session: Session, items: list[Item]) -> set | None:
        """The keys of the batch's messages not taken in before (None: nothing to check)."""
        keys = [k for k in map(_key, items) if k is not None]
        if not keys:
            return None
        return devices.first_taken(session, keys, at=now())

    def _reject(self, session: Session, item: Item, reason: str) -> None:
        topic, raw = _wire(item, self.topics)
        device = getattr(item, "device_id", None)
        devices.keep_reject(session, topic=topic, reason=reason, raw=raw, device=device)
        self.counters.rejects += 1
        news.tell(session, news.DeviceRejected(device=device, reason=reason))

    # -- what each kind of event means --------------------------------------------

    def _tag_reads(self, session: Session, batch: _Batch, reader: Reader, event: TagReads) -> None:
        if reader.type != "reader":
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a reader")
            return
        self.counters.reads += len(event.reads)
        unknown: list[str] = []
        stray_antennas: set[int] = set()
        at = event.ts.timestamp()
        seen = (event.ts, reader.id)
        known = self._epc_box.get
        last_seen = self._last_seen
        missing = self._missing
        role = reader.role
        antennas = reader.antennas
        hear = self.placement.hear
        heard = batch.heard
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
                self._crossed_gate(session, batch, reader, box_id, event.ts)
            if box_id in missing:
                self._found(session, batch, box_id, reader)
        self.counters.reads_applied += applied
        if role == "shelf":
            self.placement.round_done(antennas.values(), at)
            if at > batch.latest:
                batch.latest = at
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            self._reject(session, event,
                         f"{len(unknown)} unknown EPC(s), no registered box: {shown}")
        if stray_antennas:
            self._reject(session, event,
                         f"antenna(s) {sorted(stray_antennas)} of {reader.id} are not mapped to "
                         "a location")

    def _box_of(self, session: Session, epc: str) -> int | None:
        """The box an EPC names (remembered), or None; unknown EPCs are asked again later."""
        asked = self._epc_unknown.get(epc)
        if asked is not None and time.monotonic() - asked < UNKNOWN_EPC_TTL_S:
            return None
        box_id = self._lookup_box(session, epc)
        if box_id is None:
            if len(self._epc_unknown) > SEEN_KEYS:
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
            self._boxes[box.id] = [box.location_id, box.status]
        return found.number

    def _is_location_tag(self, epc: str) -> bool:
        try:
            found = identify(epc, company_prefix=self.scheme.company_prefix,
                             site_number=self.scheme.site_number)
        except InvalidIdentifier:
            return False
        return found is not None and found.kind != BOX

    def _decide_moves(self, session: Session, batch: _Batch) -> None:
        at = batch.latest  # judged on the readers' clock, as the evidence is
        for box_id in batch.heard:
            cached = self._boxes.get(box_id)
            if cached is None:
                continue
            target = self._verdict(box_id, cached[0], at)
            if target is None:
                continue
            box = session.get(Box, box_id)
            if box.location_id != cached[0]:  # moved meanwhile by a person or another worker
                cached[0], cached[1] = box.location_id, box.status
                if self._verdict(box_id, box.location_id, at) is None:
                    continue
            place = session.get(Location, target)
            _, device = self._last_seen.get(box_id, (now(), None))
            moved_box, movement = boxes.move_box(session, box.code, to=place.code, reason="rfid",
                                                 device=device, check_capacity=False)
            cached[0], cached[1] = moved_box.location_id, moved_box.status
            if movement is None:
                continue
            self.counters.moves += 1
            if place.capacity is not None and locations.occupancy(session, place.id) > place.capacity:
                alarms.raise_alarm(
                    session, kind="over_capacity", subject=place.code, severity="warning",
                    message=f"{place.path} holds more boxes than its capacity of {place.capacity}")

    def _verdict(self, box_id: int, location_id: int | None, at: float) -> int | None:
        current = self._holder.get(location_id, location_id) if location_id is not None else None
        target = self.placement.verdict(box_id, current, now=at)
        if target is None or location_id in self._inside.get(target, ()):
            return None  # a shelf antenna hearing a box in one of its slots: it is where it is
        return target

    def _crossed_gate(self, session: Session, batch: _Batch, reader: Reader, box_id: int,
                      ts: datetime) -> None:
        if box_id in self._on_loan:
            return  # expected: it left on a loan
        box = session.get(Box, box_id)
        if box.status == "on_loan":  # lent since the cache was read: still expected
            self._on_loan.add(box_id)
            return
        door = reader.room_path or reader.id
        alarms.raise_alarm(
            session, kind="unauthorized_removal", subject=box.code, severity="critical",
            message=f"box {box.code} passed the door of {door} without a loan ({reader.id})")

    def _found(self, session: Session, batch: _Batch, box_id: int, reader: Reader) -> None:
        box = session.get(Box, box_id)
        box.status = "on_shelf" if box.location_id else "in_transit"
        self._boxes[box_id][1] = box.status
        self._missing.discard(box_id)
        alarms.clear_condition(session, kind="box_missing", subject=box.code)
        boxes.tell_changed(session, box, reason="found", by=reader.id)

    def _scan(self, session: Session, batch: _Batch, reader: Reader, event: Scan) -> None:
        if reader.type not in ("scanner", "reader"):
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a scanner")
            return
        with session.begin_nested():  # a refused scan must not undo the rest of the batch
            outcome = scan.from_device(session, self.targets, device=reader.id, code=event.code,
                                       operator=event.operator, scheme=self.scheme)
        if outcome.action == scan.MOVED and outcome.box:
            box = boxes.by_code(session, outcome.box)
            self._boxes[box.id] = [box.location_id, box.status]
        news.tell(session, news.ScanAnswered(
            device=reader.id, code=outcome.code, ok=outcome.ok, action=outcome.action,
            message=outcome.message, box=outcome.box, location=outcome.location, ts=event.ts,
            reason=outcome.reason))

    def _climate(self, session: Session, batch: _Batch, reader: Reader,
                 event: ClimateReading) -> None:
        if reader.type != "sensor":
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a sensor")
            return
        why = climate.impossible(event.temperature_c, event.humidity_pct)
        if why:
            self._reject(session, event, f"physically impossible reading: {why}")
            return
        batch.samples.append((reader.id, reader.room_id, event.ts, event.temperature_c,
                              event.humidity_pct))
        news.tell(session, news.ClimateMeasured(
            sensor=reader.id, room=reader.room_path, temperature_c=event.temperature_c,
            humidity_pct=event.humidity_pct, ts=event.ts))

    def _status(self, session: Session, batch: _Batch, reader: Reader, event: DeviceStatus) -> None:
        device = session.get(Device, reader.id)
        batch.said_status.add(reader.id)
        devices.mark_state(session, device, event.state, at=event.ts)

    # -- bookkeeping ---------------------------------------------------------------

    def _touch_devices(self, session: Session, batch: _Batch, counts: Counter[str]) -> None:
        for device_id, (ts, seq) in batch.touched.items():
            device = session.get(Device, device_id)
            if counts.get(device_id):
                # in SQL, not in Python: several workers count for the same device at once
                device.reads_total = Device.reads_total + counts[device_id]
            if ts is not None and (device.last_seen_at is None or ts > as_utc(device.last_seen_at)):
                device.last_seen_at = ts
            if seq is not None:
                device.last_seq = seq
            if device.state != "online" and device_id not in batch.said_status:
                # hearing from a device is proof it is online
                devices.mark_state(session, device, "online", at=ts)

    def _flush_last_seen(self, *, force: bool = False) -> bool:
        if not self._last_seen or (
            not force and time.monotonic() - self._last_seen_at < LAST_SEEN_FLUSH_S
        ):
            return False
        pending, self._last_seen = self._last_seen, {}
        self._last_seen_at = time.monotonic()
        rows = [{"b_id": box_id, "b_at": ts, "b_by": by} for box_id, (ts, by) in pending.items()]
        statement = (
            update(Box.__table__)
            .where(Box.__table__.c.id == bindparam("b_id"))
            .values(last_seen_at=bindparam("b_at"), last_seen_by=bindparam("b_by"))
        )
        with self.engine.begin() as conn:
            conn.execute(statement, rows)
        return True

    def _refresh_caches(self, session: Session) -> None:
        clock = time.monotonic()
        if clock - self._registry_at > REGISTRY_TTL_S:
            self._load_registry(session)
        if clock - self._boxes_at > BOXES_TTL_S:
            self._boxes = {
                box_id: [location_id, status]
                for box_id, location_id, status in session.exec(
                    select(Box.id, Box.location_id, Box.status)
                    .where(Box.status != "disposed")
                )
            }
            self._boxes_at = clock
        if clock - self._status_at >= self.status_ttl_s:
            self._missing, self._on_loan = set(), set()
            for box_id, status in session.exec(
                select(Box.id, Box.status).where(col(Box.status).in_(("missing", "on_loan")))
            ):
                (self._missing if status == "missing" else self._on_loan).add(box_id)
            self._status_at = clock

    def _load_registry(self, session: Session) -> None:
        rows = session.exec(select(Device)).all()
        codes = {code for d in rows for code in (d.antennas or {}).values()}
        room_ids = {d.room_id for d in rows if d.room_id}
        places = {
            p.code: p.id
            for p in session.exec(select(Location).where(col(Location.code).in_(codes)))
        } if codes else {}
        paths = dict(session.exec(
            select(Location.id, Location.path).where(col(Location.id).in_(room_ids))
        ).all()) if room_ids else {}
        self._registry = {
            d.id: Reader(
                id=d.id, type=d.type, role=d.role, room_id=d.room_id,
                room_path=paths.get(d.room_id),
                antennas={int(a): places[c] for a, c in (d.antennas or {}).items() if c in places},
            )
            for d in rows
        }
        holder: dict[int, int] = {}
        inside: dict[int, set[int]] = {}
        covered = session.exec(
            select(Location.id, Location.lineage).where(col(Location.id).in_(list(places.values())))
        ).all() if places else []
        for antenna_place, lineage in sorted(covered, key=lambda row: len(row[1])):
            inside[antenna_place] = set(session.exec(
                select(Location.id).where(col(Location.lineage).startswith(lineage))
            ).all())
            for location_id in inside[antenna_place]:
                holder[location_id] = antenna_place  # deeper antennas come later and win
        self._holder, self._inside = holder, inside
        self._registry_at = time.monotonic()

    def _reader(self, session: Session, device_id: str) -> Reader | None:
        reader = self._registry.get(device_id)
        if reader is None and session.get(Device, device_id) is not None:
            self._load_registry(session)  # registered since the registry was read
            reader = self._registry.get(device_id)
        return reader


def _key(item: Item) -> tuple[str, int, datetime] | None:
    """What makes a device message a duplicate of another: (device, seq, ts)."""
    seq = getattr(item, "seq", None)
    if seq is None or isinstance(item, Reject):
        return None
    return item.device_id, seq, as_utc(item.ts)  # type: ignore[return-value]


def _acknowledge(entries: Iterable[Entry]) -> None:
    """Tell the broker these messages are kept (in the order they came)."""
    for _, ack in entries:
        if ack is not None:
            try:
                ack()
            except Exception:  # the broker resends it after a reconnect: a duplicate, dropped
                log.exception("could not acknowledge a message")


def _printable(text: str) -> str:
    """Text the database can store: lone surrogates and NULs shown as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _wire(item: Item, topics: mqtt_json.Topics) -> tuple[str, bytes]:
    """The topic (or source) and bytes to keep for an item that is rejected."""
    if isinstance(item, Reject):
        return item.source, item.raw
    try:
        topic, payload = mqtt_json.encode(item, root=topics.root)
    except Exception:
        return getattr(item, "source", "") or "?", repr(item).encode()[:256]
    return getattr(item, "source", "") or topic, payload
