"""The one bridge from device events to the twin: batches, drops duplicates, commits.

Transports (MQTT, serial) call `submit(item, ack)` from their own threads. What a read means
for the twin (where a box is, the gate, found again) is decided in
server/services/placement.py; ingest is the queue, the batch, the retry and the routing. One ingest thread
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

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from devices.codecs import mqtt_json
from devices.events import ClimateReading, DeviceStatus, Reject, Scan, SensorEvent, TagReads
from server.clock import as_utc, now
from server.db import writing
from server.models.columns import saved_id
from server.models.devices import Device
from server.models.places import Location
from server.services import boxes, climate, devices, news, scan
from server.services import climate_rules as climate_rules_module
from server.services.codes import CodeScheme
from server.services.placement import Evidence, Placement, Reader

log = logging.getLogger(__name__)

Item = TagReads | Scan | ClimateReading | SensorEvent | DeviceStatus | Reject
Ack = Callable[[], None]
Entry = tuple[Item, Ack | None]

REGISTRY_TTL_S = 5.0
TRANSIENT_PATIENCE_S = 120.0  # how long a batch waits out deadlocks and held locks


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
    retried_batches: int = 0


@dataclass(slots=True)
class _Batch:
    """What one batch is changing, gathered to write once per batch."""

    touched: dict[str, tuple[datetime, int | None]] = field(default_factory=dict)
    said_status: set[str] = field(default_factory=set)
    samples: list[tuple[str, int | None, datetime, float, float]] = field(default_factory=list)


class Ingest:
    """Apply device events to the twin in batches, on one thread of its own."""

    def __init__(
        self,
        engine: Engine,
        *,
        scheme: CodeScheme,
        root: str = mqtt_json.DEFAULT_ROOT,
        evidence: Evidence | None = None,
        batch_max: int = 2000,
        linger_s: float = 0.02,
        status_ttl_s: float = 1.0,
        server_ids: frozenset[str] = frozenset(),
        clock_ahead_s: float = 300.0,
        climate_rules: climate_rules_module.Rules | None = None,
    ) -> None:
        self.engine = writing(engine)  # every batch writes: SQLite's BEGIN IMMEDIATE
        self.scheme = scheme
        self.topics = mqtt_json.topics(root)
        self.clock_ahead = timedelta(seconds=clock_ahead_s)
        self.placement = Placement(scheme, evidence=evidence, status_ttl_s=status_ttl_s)
        self.batch_max = batch_max
        self.linger_s = linger_s
        self.status_ttl_s = status_ttl_s
        self.server_ids = server_ids  # our own status topic comes back to us: not a device
        self.counters = IngestCounters()
        self.climate_rules = climate_rules or climate_rules_module.Rules()
        self.targets = scan.ScanTargets()
        self._queue: queue.Queue[Entry] = queue.Queue()
        self._in_flight = 0
        self._idle = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry: dict[str, Reader] = {}
        self._registry_at = -1e9

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
        self.placement.flush_last_seen(self.engine, force=True)

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
                self.placement.flush_last_seen(self.engine)
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
        items = [item for item, _ in entries]
        try:
            self._apply_patiently(items)
        except Exception:
            log.exception("a batch of %d items failed; applying them one by one", len(entries))
            self.counters.failed_batches += 1
            # the caches may hold what was rolled back
            self._registry_at = -1e9
            self.placement.forget()
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

    def _apply_patiently(self, items: list[Item]) -> None:
        """Apply a batch; a deadlock or a write lock held elsewhere (a long import on SQLite)
        is waited out, since nothing is acknowledged until the batch commits."""
        waited, pause = 0.0, 0.05
        while True:
            try:
                self._apply(items)
                return
            except OperationalError as exc:
                if waited >= TRANSIENT_PATIENCE_S or self._stop.is_set():
                    raise
                log.warning("a batch of %d items met %s; trying again in %.2f s", len(items),
                            type(exc.orig).__name__, pause)
                self.counters.retried_batches += 1
                self.placement.forget()
                time.sleep(pause)
                waited += pause
                pause = min(pause * 2, 2.0)

    def _keep_failure(self, item: Item, reason: str) -> bool:
        """Keep an item that cannot be applied as a reject; False if even that failed."""
        try:
            with Session(self.engine) as session:
                topic, raw = _wire(item, self.topics)
                devices.keep_reject(session, topic=topic, reason=reason, raw=raw,
                                    device=getattr(item, "device_id", None))
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
            if time.monotonic() - self._registry_at > REGISTRY_TTL_S:
                self._load_registry(session)
            self.placement.begin(session)
            fresh = self._first_taken(session, items)
            counts: Counter[str] = Counter()
            for item in items:
                if isinstance(item, Reject):
                    devices.keep_reject(session, topic=item.source, reason=item.reason, raw=item.raw,
                                        device=item.device_id, ts=item.ts)
                    self.counters.rejects += 1
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
                    self._tag_reads(session, reader, item)
                elif isinstance(item, Scan):
                    counts[reader.id] += 1
                    self._scan(session, batch, reader, item)
                elif isinstance(item, ClimateReading):
                    counts[reader.id] += 1
                    self._climate(session, batch, reader, item)
                elif isinstance(item, SensorEvent):
                    counts[reader.id] += 1
                    self._sensor_event(session, reader, item)
                elif isinstance(item, DeviceStatus):
                    self._status(session, batch, reader, item)
            self.counters.moves += self.placement.settle(session)
            climate.store(session, batch.samples)
            self._judge_climate(session, batch)
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

    # -- what each kind of event means --------------------------------------------

    def _tag_reads(self, session: Session, reader: Reader, event: TagReads) -> None:
        if reader.type != "reader":
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a reader")
            return
        self.counters.reads += len(event.reads)
        applied, problems = self.placement.heard(session, reader, event)
        self.counters.reads_applied += applied
        for problem in problems:
            self._reject(session, event, problem)

    def _scan(self, session: Session, batch: _Batch, reader: Reader, event: Scan) -> None:
        if reader.type not in ("scanner", "reader"):
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a scanner")
            return
        with session.begin_nested():  # a refused scan must not undo the rest of the batch
            outcome = scan.from_device(session, self.targets, device=reader.id, code=event.code,
                                       operator=event.operator, scheme=self.scheme)
        if outcome.action == scan.MOVED and outcome.box:
            self.placement.remember(boxes.by_code(session, outcome.box))
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

    def _judge_climate(self, session: Session, batch: _Batch) -> None:
        """The climate alarm rules, on the rooms that got readings (their own ts)."""
        earliest: dict[int, datetime] = {}
        for _, room_id, ts, _, _ in batch.samples:
            if room_id is not None and (room_id not in earliest or ts < earliest[room_id]):
                earliest[room_id] = ts
        if earliest:
            climate_rules_module.judge(session, earliest, rules=self.climate_rules)

    def _sensor_event(self, session: Session, reader: Reader, event: SensorEvent) -> None:
        if reader.type != "sensor":
            self._reject(session, event, f"{reader.id} is a {reader.type}, not a sensor")
            return
        room = session.get(Location, reader.room_id) if reader.room_id else None
        climate_rules_module.binary_event(session, sensor=reader.id, room=room, kind=event.kind,
                                          active=event.active, at=event.ts)

    def _status(self, session: Session, batch: _Batch, reader: Reader, event: DeviceStatus) -> None:
        device = devices.get(session, reader.id)
        batch.said_status.add(reader.id)
        devices.mark_state(session, device, event.state, at=event.ts)

    # -- bookkeeping ---------------------------------------------------------------

    def _touch_devices(self, session: Session, batch: _Batch, counts: Counter[str]) -> None:
        # In one order in every worker: two batches locking the same rows in different orders
        # deadlock on PostgreSQL.
        for device_id, (ts, seq) in sorted(batch.touched.items()):
            device = devices.get(session, device_id)
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

    def _load_registry(self, session: Session) -> None:
        rows = session.exec(select(Device)).all()
        codes = {code for d in rows for code in (d.antennas or {}).values()}
        room_ids = {d.room_id for d in rows if d.room_id}
        places = {
            p.code: saved_id(p)
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
        self.placement.cover(session, self._registry.values())
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
    return item.device_id, seq, as_utc(item.ts)


def _acknowledge(entries: Iterable[Entry]) -> None:
    """Tell the broker these messages are kept (in the order they came)."""
    for _, ack in entries:
        if ack is not None:
            try:
                ack()
            except Exception:  # the broker resends it after a reconnect: a duplicate, dropped
                log.exception("could not acknowledge a message")


def _wire(item: Item, topics: mqtt_json.Topics) -> tuple[str, bytes]:
    """The topic (or source) and bytes to keep for an item that is rejected."""
    if isinstance(item, Reject):
        return item.source, item.raw
    try:
        topic, payload = mqtt_json.encode(item, root=topics.root)
    except Exception:
        return getattr(item, "source", "") or "?", repr(item).encode()[:256]
    return getattr(item, "source", "") or topic, payload
