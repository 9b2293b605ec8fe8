"""The virtual archive room: readers, gates, scanners, sensors, lights and people, running.

It learns the layout from the server's API and then speaks to the server only as devices
do: MQTT messages of the contract and serial bytes on pty lines. One thread drives every
periodic device and the staff; answering serial lines run their own threads.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from devices.codecs import mqtt_json
from devices.events import ClimateReading, Scan, TagReads
from simulators import faults as fault_names
from simulators.broker_clients import BrokerUnreachable, DeviceClient
from simulators.climate import ClimateNorm, HvacFailure, SensorClimate
from simulators.clock import SimClock, wire_now
from simulators.faults import Faults
from simulators.layout import DeviceSpec, Layout, LayoutError, load_layout, register_devices
from simulators.lights import ShelfLights
from simulators.readers import GateReader, ReadNoise, SequencedDevice, ShelfReader
from simulators.room import RoomTruth
from simulators.serial_lines import BarcodeLine, ClimateLine, PtyLine, R2000Line, line_devices
from simulators.staff import Staff, StaffRates

log = logging.getLogger(__name__)

SHELF_CLIENT = "shelf-readers"


@dataclass(frozen=True, slots=True)
class RoomOptions:
    """How the room behaves; the defaults suit a demo watched by a person."""

    speed: float = 1.0  # simulated seconds per wall-clock second
    noise: ReadNoise = field(default_factory=ReadNoise)
    rates: StaffRates = field(default_factory=StaffRates)
    climate: ClimateNorm = field(default_factory=ClimateNorm)
    hvac: HvacFailure = field(default_factory=HvacFailure)
    root: str = mqtt_json.DEFAULT_ROOT
    seed: int | None = None
    default_interval_s: float = 10.0  # devices registered without a report interval
    tick_s: float = 0.05


@dataclass(slots=True)
class DeviceTally:
    """What one simulated device sent; `reads` is what the server's reads_total should count."""

    messages: int = 0
    reads: int = 0
    duplicates: int = 0


@dataclass(slots=True)
class _Periodic:
    device: SequencedDevice
    interval_s: float  # wall-clock
    due: float = 0.0
    room: str | None = None
    climate: SensorClimate | None = field(default=None)


class VirtualRoom:
    """A simulated archive room publishing to a broker as real devices would."""

    def __init__(self, layout: Layout, mqtt_url: str, options: RoomOptions = RoomOptions(),
                 *, lines: Iterable[PtyLine] = ()) -> None:
        self.layout = layout
        self.mqtt_url = mqtt_url
        self.options = options
        self.rng = random.Random(options.seed)
        self.clock = SimClock(options.speed)
        self.topics = mqtt_json.topics(options.root)
        self.truth = RoomTruth(layout.places, layout.boxes)
        self.faults = Faults()
        self.lights = ShelfLights(options.root)
        self.tallies: dict[str, DeviceTally] = {}
        self.lines = list(lines)
        self.staff = Staff(self.truth, self.clock, self.rng, options.rates,
                           door=self._through_door, scan=self._shelving_scan)
        self._lock = threading.RLock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._clients: dict[str, DeviceClient] = {}
        tag = secrets.token_hex(3)  # two rooms on one broker must not share client ids
        self._client_id = lambda name: f"sim-{tag}-{name}"

        self.shelf_readers = [_Periodic(ShelfReader(d, self.truth), self._interval(d))
                              for d in layout.of_type("reader", "shelf")]
        self.gates = {d.room: GateReader(d) for d in layout.of_type("reader", "gate") if d.room}
        self.scanners = [SequencedDevice(d) for d in layout.of_type("scanner")]
        serial_ids = {line.device_id for line in self.lines}
        self.sensors = [
            _Periodic(SequencedDevice(d), self._interval(d), room=d.room,
                      climate=SensorClimate(options.climate, options.hvac,
                                            random.Random(self.rng.random())))
            for d in layout.of_type("sensor") if d.id not in serial_ids
        ]
        self._climates: dict[str, SensorClimate] = {}
        self._wire_lines()

    @classmethod
    def from_api(cls, api_url: str, mqtt_url: str, *, username: str, password: str,
                 options: RoomOptions = RoomOptions(),
                 lines: Iterable[PtyLine] = ()) -> VirtualRoom:
        """Load the layout from the server's API and build the room."""
        return cls(load_layout(api_url, username, password), mqtt_url, options, lines=lines)

    def _interval(self, spec: DeviceSpec) -> float:
        return (spec.report_interval_s or self.options.default_interval_s) / self.options.speed

    def _wire_lines(self) -> None:
        garbage = lambda: self.faults.active(fault_names.SERIAL_GARBAGE)  # noqa: E731
        specs = {d.id: d for d in self.layout.devices}
        first_shelf = next((p.device for p in self.shelf_readers), None)
        for line in self.lines:
            line.garbage = garbage
            line.rng = random.Random(self.rng.random())
            if isinstance(line, R2000Line):
                spec = specs.get(line.device_id)
                if spec is not None and spec.role == "shelf" and spec.antennas:
                    reader = ShelfReader(spec, self.truth)
                elif isinstance(first_shelf, ShelfReader):
                    reader = first_shelf  # a handheld reader held up to the first shelf
                else:
                    continue
                line.sees = self._r2000_view(reader)
            elif isinstance(line, ClimateLine):
                spec = specs.get(line.device_id)
                climate = SensorClimate(self.options.climate, self.options.hvac,
                                        random.Random(self.rng.random()))
                self._climates[line.device_id] = climate
                room = spec.room if spec else None

                # defaults bind this sensor's climate and room, not the loop's last ones
                def measures(c: SensorClimate = climate,
                             r: str | None = room) -> tuple[float, float]:
                    return c.measure(self.clock.now(), self.clock.elapsed(),
                                     self.faults.active(fault_names.HVAC_FAILURE, r))

                line.measures = measures

    def _r2000_view(self, reader: ShelfReader):
        def sees() -> list[tuple[str, int, float]]:
            out = []
            for antenna, codes in reader.covers.items():
                if antenna > 4:
                    continue  # a 4-port module
                for box in self.truth.boxes_under(codes):
                    for read in self.options.noise.hear(self.truth.epc[box], antenna, [],
                                                        self.rng):
                        out.append((read.epc, read.antenna, read.rssi))
            return out

        return sees

    # -- running ------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Connect every device, say online, and start the room's clock."""
        url, topics = self.mqtt_url, self.topics
        shelf_ids = [p.device.id for p in self.shelf_readers]
        shared = DeviceClient(url, self._client_id(SHELF_CLIENT), topics, shelf_ids, will=False)
        shared.subscribe(topics.lights_filter(), self.lights.on_message)
        for line in self.lines:
            if isinstance(line, BarcodeLine):
                shared.subscribe(f"{topics.root}/scanners/{line.device_id}/results",
                                 self._scan_result)
        self._clients[SHELF_CLIENT] = shared
        for gate in self.gates.values():
            self._clients[gate.id] = DeviceClient(url, self._client_id(gate.id), topics, [gate.id])
        for scanner in self.scanners:
            client = DeviceClient(url, self._client_id(scanner.id), topics, [scanner.id])
            client.subscribe(f"{topics.root}/scanners/{scanner.id}/results", self._scan_result)
            self._clients[scanner.id] = client
        for sensor in self.sensors:
            self._clients[sensor.device.id] = DeviceClient(
                url, self._client_id(sensor.device.id), topics, [sensor.device.id])
        started: list[DeviceClient] = []
        try:
            for client in self._clients.values():
                client.start(timeout)
                started.append(client)
        except Exception:
            for client in started:
                client.stop()
            self._clients.clear()
            raise
        for line in self.lines:
            line.start()
        now = time.monotonic()
        for periodic in (*self.shelf_readers, *self.sensors):
            # spread the first reports over one interval, as devices powered on at random
            periodic.due = now + self.rng.uniform(0.0, periodic.interval_s)
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="virtual-room", daemon=True)
        self._thread.start()
        log.info("virtual room running at %gx: %d shelf readers, %d gates, %d scanners, "
                 "%d sensors, %d serial lines, %d boxes", self.options.speed,
                 len(self.shelf_readers), len(self.gates), len(self.scanners), len(self.sensors),
                 len(self.lines), len(self.truth.epc))

    def stop(self) -> None:
        """Stop the clock, say offline, disconnect and close the serial lines."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        for client in self._clients.values():
            client.stop()
        self._clients.clear()
        for line in self.lines:
            line.stop()
        log.info("virtual room stopped")

    def __enter__(self) -> VirtualRoom:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        last = self.clock.elapsed()
        next_line_tick = time.monotonic()
        while not self._halt.wait(self.options.tick_s):
            try:
                with self._lock:
                    now = time.monotonic()
                    for periodic in self.shelf_readers:
                        if now >= periodic.due:
                            self._report(periodic)
                            periodic.due = max(periodic.due + periodic.interval_s, now)
                    for periodic in self.sensors:
                        if now >= periodic.due:
                            self._climate(periodic)
                            periodic.due = max(periodic.due + periodic.interval_s, now)
                    elapsed = self.clock.elapsed()
                    self.staff.tick(elapsed - last)
                    last = elapsed
                    if now >= next_line_tick:
                        next_line_tick = now + 1.0
                        for line in self.lines:
                            line.tick()
            except Exception:  # one failed step must not stop the room
                log.exception("the virtual room stumbled; carrying on")

    # -- what devices send --------------------------------------------------------------

    def _send(self, client_name: str, event: TagReads | Scan | ClimateReading, *,
              may_repeat: bool = False) -> None:
        topic, payload = mqtt_json.encode(event, root=self.topics.root)
        client = self._clients[client_name]
        client.publish(topic, payload)
        tally = self.tallies.setdefault(event.device_id, DeviceTally())
        tally.messages += 1
        tally.reads += len(event.reads) if isinstance(event, TagReads) else 1
        if may_repeat and self.options.noise.republish(self.rng):
            # the acknowledgement was lost, so the device sends the very same message again
            client.publish(topic, payload)
            tally.duplicates += 1

    def _report(self, periodic: _Periodic) -> None:
        reader = periodic.device
        assert isinstance(reader, ShelfReader)
        event = reader.report(self.truth, self.options.noise, self.rng, wire_now())
        self._send(SHELF_CLIENT, event, may_repeat=True)

    def _climate(self, periodic: _Periodic) -> None:
        sensor = periodic.device
        if self.faults.active(fault_names.SENSOR_DROPOUT, sensor.id):
            return
        assert periodic.climate is not None
        failing = self.faults.active(fault_names.HVAC_FAILURE, periodic.room)
        temperature, humidity = periodic.climate.measure(self.clock.now(), self.clock.elapsed(),
                                                         failing)
        self._send(sensor.id, ClimateReading(sensor.id, wire_now(), sensor.next_seq(),
                                             temperature, humidity))

    def _through_door(self, box: str, room: str) -> bool:
        gate = self.gates.get(room)
        if gate is None:
            return False
        event = gate.passing([self.truth.epc[box]], self.options.noise, self.rng, wire_now())
        self._send(gate.id, event)
        return True

    def _shelving_scan(self, codes: list[str], operator: str) -> bool:
        barcodes = [line for line in self.lines if isinstance(line, BarcodeLine)]
        choices: list[SequencedDevice | BarcodeLine] = [*self.scanners, *barcodes]
        if not choices:
            return False
        scanner = self.rng.choice(choices)
        for code in codes:
            if isinstance(scanner, BarcodeLine):
                scanner.scan(code)
            else:
                self._send(scanner.id, Scan(scanner.id, wire_now(), scanner.next_seq(), code,
                                            operator))
        return True

    def _scan_result(self, topic: str, payload: bytes) -> None:
        try:
            result = json.loads(payload)
            ok, box, message = bool(result.get("ok")), result.get("box"), result.get("message")
        except (ValueError, AttributeError):
            log.warning("unreadable scan result on %s: %r", topic, payload[:80])
            return
        log.info("scanner %s: %s %s", topic.split("/")[-2], "ok" if ok else "refused",
                 message or result)
        with self._lock:
            self.staff.scan_answered(box, ok, message or "")

    # -- asked from outside -------------------------------------------------------------

    def inject(self, name: str, target: str | None = None) -> str | None:
        """Start a fault (see simulators.faults.FAULTS); returns whom it hit, if anyone."""
        fault_names.check(name)
        with self._lock:
            if name == fault_names.UNAUTHORIZED_REMOVAL:
                move = self.staff.take_out(target)
                if move is None:
                    log.warning("no box could be carried out (no gate in any room with boxes?)")
                    return None
                return move.box
            if name == fault_names.SENSOR_DROPOUT and target is None:
                ids = [s.device.id for s in self.sensors]
                target = ids[0] if ids else None
            self.faults.activate(name, target)
        log.warning("fault %s injected%s", name, f" on {target}" if target else "")
        return target

    def clear(self, name: str) -> bool:
        """End a fault; True when it was in force."""
        cleared = self.faults.clear(name)
        if cleared:
            log.warning("fault %s cleared", name)
        return cleared

    def move_a_box(self, box: str | None = None):
        """Have someone carry a box to a free slot on another shelf now."""
        with self._lock:
            return self.staff.move_a_box(box)

    def shelve(self) -> list[str] | None:
        """Have someone run a shelving session with a scanner now."""
        with self._lock:
            return self.staff.shelve()

    def tally(self, device_id: str) -> DeviceTally:
        """What one device has sent so far."""
        with self._lock:
            found = self.tallies.get(device_id, DeviceTally())
            return DeviceTally(found.messages, found.reads, found.duplicates)


MqttUrl = str | Callable[[], str | None]


class RoomRunner:
    """Starts a room in a thread once the server answers /healthz; for `demo` and `simulate`.

    The broker URL may be a callable: the demo's server only knows where its embedded
    broker listens once it has started.
    """

    def __init__(self, api_url: str, mqtt_url: MqttUrl, *, username: str, password: str,
                 options: RoomOptions = RoomOptions(), lines: Iterable[PtyLine] = (),
                 faults: Iterable[str] = (), wait_s: float = 120.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.mqtt_url = mqtt_url
        self.username = username
        self.password = password
        self.options = options
        self.lines = list(lines)
        # "NAME" or "NAME:TARGET", e.g. sensor-dropout:th-r2
        self.faults = [(fault_names.check(name), target or None)
                       for name, _, target in (f.partition(":") for f in faults)]
        self.wait_s = wait_s
        self.room: VirtualRoom | None = None
        self.failure: str | None = None
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start waiting for the server in the background; serial lines answer at once."""
        for line in self.lines:
            line.start()  # the server polls its ports from the moment it starts
        self._thread = threading.Thread(target=self._run, name="room-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the room (or stop waiting for the server)."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(15.0)
            self._thread = None

    def _broker(self) -> str | None:
        return self.mqtt_url() if callable(self.mqtt_url) else self.mqtt_url

    def _server_up(self) -> str | None:
        try:
            if httpx.get(f"{self.api_url}/healthz", timeout=2.0).status_code != 200:
                return None
        except httpx.HTTPError:
            return None
        return self._broker()

    def _run(self) -> None:
        deadline = time.monotonic() + self.wait_s
        url = None
        while not self._halt.is_set() and (url := self._server_up()) is None:
            if time.monotonic() > deadline:
                self.failure = f"no server with a broker link at {self.api_url}"
                log.error("virtual room not started: %s", self.failure)
                self._close_lines()
                return
            self._halt.wait(0.5)
        if self._halt.is_set() or url is None:
            self._close_lines()
            return
        try:
            layout = load_layout(self.api_url, self.username, self.password)
            rooms = sorted(p.code for p in layout.places.values() if p.kind == "room")
            specs = line_devices(self.lines, rooms[0] if rooms else None)
            if specs and register_devices(self.api_url, self.username, self.password, specs):
                layout = load_layout(self.api_url, self.username, self.password)
            room = VirtualRoom(layout, url, self.options, lines=self.lines)
            room.start()
        except (LayoutError, BrokerUnreachable, ValueError) as exc:
            self.failure = str(exc)
            log.error("virtual room not started: %s", exc)
            self._close_lines()
            return
        except Exception as exc:  # say why in the log; the server keeps running without us
            self.failure = str(exc)
            log.exception("virtual room not started")
            self._close_lines()
            return
        self.room = room
        for name, target in self.faults:
            room.inject(name, target)
        self._halt.wait()
        room.stop()

    def _close_lines(self) -> None:
        for line in self.lines:
            line.stop()
