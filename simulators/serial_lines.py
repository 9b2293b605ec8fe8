"""Serial devices on pty pairs: a barcode scanner, an R2000 UHF reader, an XY-MD02 sensor.

Each line owns the master side of a pseudo-terminal and plays the device there; the
server opens the slave (`port`, e.g. /dev/pts/7) exactly as it opens a USB adapter,
configured as `KIND:DEVICE_ID:PORT` in ARCHIVE_TWIN_SERIAL_DEVICES.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import threading
import tty
from collections.abc import Callable

from devices.codecs import modbus_climate, r2000
from devices.codecs.errors import CodecError
from simulators.faults import break_frame, line_garbage
from simulators.layout import DeviceSpec

log = logging.getLogger(__name__)

Sees = Callable[[], list[tuple[str, int, float]]]  # (epc, antenna 1-4, rssi dBm)
Measures = Callable[[], tuple[float, float]]  # (temperature_c, humidity_pct)


def _never() -> bool:
    return False


class PtyLine:
    """One pty pair; subclasses that answer requests run a thread reading the master."""

    kind = "serial"
    answers = False

    def __init__(self, device_id: str, *, garbage: Callable[[], bool] = _never,
                 rng: random.Random | None = None) -> None:
        self.device_id = device_id
        self.garbage = garbage
        self.rng = rng or random.Random()
        self.master, self._slave = os.openpty()
        # Raw on both sides: no echo and no CR/LF translation before the server's port opens.
        tty.setraw(self.master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.written = 0
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def spec(self) -> str:
        """The server's setting for this line: `KIND:DEVICE_ID:PORT`."""
        return f"{self.kind}:{self.device_id}:{self.port}"

    def start(self) -> None:
        """Start answering the server (for lines that answer requests)."""
        if self.answers and self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"pty-{self.device_id}",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and close the pty."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def write(self, data: bytes) -> None:
        """Send bytes to the server's side of the line."""
        try:
            os.write(self.master, data)
            self.written += len(data)
        except OSError as exc:
            log.debug("%s: write failed: %s", self.device_id, exc)

    def tick(self) -> None:
        """Called now and then by the room: unprompted line noise while the fault is on."""
        if self.garbage() and self.rng.random() < 0.2:
            self.write(line_garbage(self.rng))

    def _run(self) -> None:
        pending = bytearray()
        while not self._halt.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(self.master, 4096)
            except OSError:
                if self._halt.wait(0.1):
                    return
                continue
            pending.extend(chunk)
            try:
                self._answer(pending)
            except Exception:  # the device keeps running whatever the host sends
                log.exception("%s: could not answer", self.device_id)
                pending.clear()

    def _answer(self, pending: bytearray) -> None:
        raise NotImplementedError


class BarcodeLine(PtyLine):
    """A barcode scanner: each scan is the code's text and CR LF."""

    kind = "scanner"

    def scan(self, code: str) -> None:
        """The person pulls the trigger on a label."""
        if self.garbage() and self.rng.random() < 0.5:
            # a byte above 0x7F guarantees the line is unusable, as real noise usually is
            self.write(bytes((0x80 | self.rng.randrange(128),)) + line_garbage(self.rng) + b"\r\n")
        self.write(code.encode("ascii") + b"\r\n")

    def tick(self) -> None:
        """Unprompted noise ends in a line break so the scanner port sees a whole bad line."""
        if self.garbage() and self.rng.random() < 0.2:
            self.write(bytes((0x80 | self.rng.randrange(128),)) + line_garbage(self.rng) + b"\r\n")


class R2000Line(PtyLine):
    """An R2000-family UHF reader module: answers inventory polls with one frame per tag."""

    kind = "rfid"
    answers = True

    def __init__(self, device_id: str, sees: Sees | None = None, *, address: int = 0x01,
                 **kwargs) -> None:
        super().__init__(device_id, **kwargs)
        self.sees: Sees = sees or list
        self.address = address
        self.rounds = 0
        self._antenna = 1
        self._decoder = r2000.FrameDecoder()

    def _answer(self, pending: bytearray) -> None:
        frames = self._decoder.feed(bytes(pending))
        pending.clear()
        for frame in frames:
            if frame.command == r2000.CMD_SET_WORK_ANTENNA and frame.data:
                self._antenna = frame.data[0] + 1
                self.write(r2000.build_frame(frame.command, bytes((r2000.SUCCESS,)),
                                             address=self.address))
            elif frame.command == r2000.CMD_REAL_TIME_INVENTORY:
                self.write(self._inventory_round())
            else:
                self.write(r2000.build_error_reply(frame.command, 0x11, address=self.address))

    def _inventory_round(self) -> bytes:
        self.rounds += 1
        out = bytearray()
        tags = self.sees()
        for epc, antenna, rssi in tags:
            frame = r2000.build_tag_reply(epc, antenna=antenna, rssi=rssi,
                                          channel=self.rng.randrange(50), address=self.address)
            if self.garbage():
                out += line_garbage(self.rng)
                if self.rng.random() < 0.5:
                    out += break_frame(frame, self.rng)
            out += frame
        out += r2000.build_done_reply(antenna=self._antenna, read_rate=len(tags) * 10,
                                      total_reads=len(tags), address=self.address)
        return bytes(out)


class ClimateLine(PtyLine):
    """An XY-MD02 temperature and humidity sensor answering Modbus RTU requests."""

    kind = "climate"
    answers = True

    def __init__(self, device_id: str, measures: Measures | None = None, *, unit: int = 1,
                 **kwargs) -> None:
        super().__init__(device_id, **kwargs)
        self.measures: Measures = measures or (lambda: (20.0, 50.0))
        self.unit = unit
        self.requests = 0

    def _answer(self, pending: bytearray) -> None:
        while len(pending) >= modbus_climate.REQUEST_SIZE:
            try:
                request = modbus_climate.parse_request(bytes(pending[:modbus_climate.REQUEST_SIZE]))
            except CodecError:
                del pending[:1]  # resync one byte at a time, as a real slave does on a bad CRC
                continue
            del pending[:modbus_climate.REQUEST_SIZE]
            if request.unit != self.unit:
                continue  # another sensor on the bus
            self.requests += 1
            if (request.address, request.count) != (modbus_climate.TEMPERATURE_REGISTER,
                                                    modbus_climate.REGISTER_COUNT):
                self.write(modbus_climate.build_exception_reply(self.unit))
                continue
            reply = modbus_climate.build_reply(self.unit, *self.measures())
            if self.garbage() and self.rng.random() < 0.5:
                reply = line_garbage(self.rng) + break_frame(reply, self.rng)
            self.write(reply)


def open_lines(prefix: str = "sim") -> list[PtyLine]:
    """One line of each kind: a barcode scanner, an R2000 reader and an XY-MD02 sensor.

    Returns no lines where the system has no pseudo-terminals.
    """
    try:
        return [BarcodeLine(f"{prefix}-usb-scanner"), R2000Line(f"{prefix}-r2000"),
                ClimateLine(f"{prefix}-xy-md02")]
    except (OSError, AttributeError) as exc:  # no os.openpty (Windows) or no ptys left
        log.warning("no serial lines: pseudo-terminals unavailable (%s)", exc)
        return []


def line_devices(lines: list[PtyLine], room: str | None) -> list[DeviceSpec]:
    """How the lines' devices are registered: the R2000 as a handheld reader, the sensor in
    `room` (polled every 30 s by the server, its default)."""
    specs = []
    for line in lines:
        if isinstance(line, BarcodeLine):
            specs.append(DeviceSpec(line.device_id, "scanner"))
        elif isinstance(line, R2000Line):
            specs.append(DeviceSpec(line.device_id, "reader", role="handheld"))
        elif isinstance(line, ClimateLine) and room is not None:
            specs.append(DeviceSpec(line.device_id, "sensor", room=room, report_interval_s=30))
    return specs
