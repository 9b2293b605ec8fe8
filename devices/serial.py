"""Devices on serial lines: barcode scanners, R2000 RFID readers, XY-MD02 climate sensors.

Each port runs in its own thread and emits the same typed events as MQTT devices.
A port that fails to open, vanishes (USB unplugged) or whose device falls silent
is reported as a DeviceStatus "offline" and reopened with exponential backoff
(capped); it is reported "online" again once it works. Nothing here stops on a
malformed line or frame: those become Rejects or counted skips.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import serial

from devices.codecs import modbus_climate, r2000
from devices.codecs.errors import CodecError
from devices.codecs.scanner_lines import LineDecoder
from devices.events import (
    RAW_KEEP,
    ClimateReading,
    DeviceStatus,
    Event,
    Reject,
    Scan,
    TagRead,
    TagReads,
)

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]
RejectHandler = Callable[[Reject], None]

_READ_TIMEOUT_S = 0.1


class DeviceSilent(Exception):
    """The port is open but the device has stopped answering."""


@dataclass(slots=True)
class PortCounters:
    """What happened on one port since it was made."""

    opens: int = 0
    failures: int = 0
    events: int = 0
    rejects: int = 0
    skipped_bytes: int = 0
    bad_frames: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


class SerialDevice(threading.Thread):
    """The open / serve / back off / reopen loop shared by every serial device."""

    def __init__(
        self,
        url: str,
        device_id: str,
        on_event: EventHandler,
        on_reject: RejectHandler | None = None,
        *,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        super().__init__(name=f"{type(self).__name__}-{device_id}", daemon=True)
        self.url = url
        self.device_id = device_id
        self.on_event = on_event
        self.on_reject = on_reject
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.counters = PortCounters()
        self.state: Literal["online", "offline"] | None = None
        self._halt = threading.Event()
        self._delay = backoff_initial_s

    # -- what each device type fills in ----------------------------------------------

    def _open(self) -> Any:
        raise NotImplementedError

    def _serve(self, handle: Any) -> None:
        """Talk to the device until stopped; raise when the port or device fails."""
        raise NotImplementedError

    def _close(self, handle: Any) -> None:
        handle.close()

    # -- the loop ----------------------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it."""
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    @property
    def stopping(self) -> bool:
        """True once stop() was called."""
        return self._halt.is_set()

    def run(self) -> None:
        self._delay = self.backoff_initial_s
        while not self._halt.is_set():
            try:
                handle = self._open()
            except Exception as exc:
                self.counters.failures += 1
                if self.state != "offline":
                    logger.warning("%s: cannot open %s: %s", self.device_id, self.url, exc)
                self._set_state("offline")
                self._back_off()
                continue
            self.counters.opens += 1
            logger.info("%s: opened %s", self.device_id, self.url)
            try:
                self._serve(handle)
            except Exception as exc:
                self.counters.failures += 1
                logger.warning("%s: %s failed: %s", self.device_id, self.url, exc)
                self._set_state("offline")
            finally:
                try:
                    self._close(handle)
                except Exception:
                    logger.debug("closing %s failed", self.url, exc_info=True)
            if not self._halt.is_set():
                self._back_off()

    def _back_off(self) -> None:
        self._halt.wait(self._delay)
        self._delay = min(self._delay * 2, self.backoff_max_s)

    def _serving(self) -> None:
        """Call once the device has shown it works: online again, backoff reset."""
        self._delay = self.backoff_initial_s
        self._set_state("online")

    def _set_state(self, state: Literal["online", "offline"]) -> None:
        if state == self.state:
            return
        self.state = state
        self._emit(DeviceStatus(self.device_id, state, _now(), self.url))

    def _emit(self, event: Event) -> None:
        try:
            self.on_event(event)
            if not isinstance(event, DeviceStatus):
                self.counters.events += 1
        except Exception:
            logger.exception("%s: event handler failed", self.device_id)

    def _reject(self, raw: bytes, reason: str) -> None:
        self.counters.rejects += 1
        logger.warning("%s: rejected %r from %s: %s", self.device_id, raw[:64], self.url, reason)
        if self.on_reject is None:
            return
        try:
            self.on_reject(Reject(self.url, self.device_id, bytes(raw[:RAW_KEEP]), reason, _now()))
        except Exception:
            logger.exception("%s: reject handler failed", self.device_id)


def _open_pyserial(url: str, baudrate: int) -> serial.SerialBase:
    return serial.serial_for_url(url, baudrate=baudrate, timeout=_READ_TIMEOUT_S)


def _read_some(port: serial.SerialBase) -> bytes:
    # Blocks at most the port timeout, so stop() is noticed promptly.
    # Every port serial_for_url makes has in_waiting; the stubs' SerialBase does not declare it.
    return port.read(max(1, port.in_waiting))  # type: ignore[attr-defined]


class ScannerPort(SerialDevice):
    """A barcode scanner on a serial line: one code per line (CR, LF or CRLF)."""

    def __init__(
        self,
        url: str,
        device_id: str,
        on_event: EventHandler,
        on_reject: RejectHandler | None = None,
        *,
        baudrate: int = 9600,
        **backoff: float,
    ) -> None:
        super().__init__(url, device_id, on_event, on_reject, **backoff)
        self.baudrate = baudrate

    def _open(self) -> serial.SerialBase:
        return _open_pyserial(self.url, self.baudrate)

    def _serve(self, port: serial.SerialBase) -> None:
        # A scanner only speaks when it scans, so an open port is all "online" can mean.
        self._serving()
        decoder = LineDecoder()
        while not self.stopping:
            chunk = _read_some(port)
            if not chunk:
                continue
            for item in decoder.feed(chunk):
                if isinstance(item, CodecError):
                    self._reject(item.raw or b"", item.reason)
                else:
                    self._emit(Scan(self.device_id, _now(), None, item, None, self.url))


class RfidReaderPort(SerialDevice):
    """An R2000-family UHF reader: polls real-time inventory, emits one TagReads per round.

    `antennas` (1-4) makes each poll select the next antenna first (cmd 0x74); without
    it the reader inventories whatever antenna it is set to. A reader that answers
    no poll `silent_polls` times in a row is reported offline and its port reopened.
    """

    def __init__(
        self,
        url: str,
        device_id: str,
        on_event: EventHandler,
        on_reject: RejectHandler | None = None,
        poll_interval_s: float = 1.0,
        *,
        baudrate: int = 115200,
        address: int = 0x01,
        antennas: tuple[int, ...] | None = None,
        silent_polls: int = 3,
        **backoff: float,
    ) -> None:
        super().__init__(url, device_id, on_event, on_reject, **backoff)
        self.poll_interval_s = poll_interval_s
        self.baudrate = baudrate
        self.address = address
        self.antennas = antennas
        self.silent_polls = silent_polls
        self._skipped_base = 0
        self._bad_base = 0

    def _open(self) -> serial.SerialBase:
        return _open_pyserial(self.url, self.baudrate)

    def _serve(self, port: serial.SerialBase) -> None:
        decoder = r2000.FrameDecoder()
        batch: dict[tuple[str, int], list[float]] = {}
        round_open = False
        unanswered = 0
        next_poll = 0.0
        turn = 0
        try:
            while not self.stopping:
                now = time.monotonic()
                if now >= next_poll:
                    if round_open:
                        # The reader never closed the round: report what it saw, count silence.
                        unanswered += 1
                        self._flush(batch, even_if_empty=False)
                        if unanswered >= self.silent_polls:
                            raise DeviceSilent(f"no answer to {unanswered} inventory polls")
                    command = r2000.real_time_inventory(1, address=self.address)
                    if self.antennas:
                        antenna = self.antennas[turn % len(self.antennas)]
                        turn += 1
                        command = r2000.set_work_antenna(antenna, address=self.address) + command
                    port.write(command)
                    round_open = True
                    next_poll = now + self.poll_interval_s
                chunk = _read_some(port)
                if not chunk:
                    continue
                for frame in decoder.feed(chunk):
                    unanswered = 0
                    self._serving()
                    if frame.command != r2000.CMD_REAL_TIME_INVENTORY:
                        if frame.data[:1] != bytes((r2000.SUCCESS,)):
                            error = r2000.ReaderError(
                                frame.command, frame.data[0] if frame.data else 0
                            )
                            self._reject(_frame_bytes(frame), error.reason)
                        continue
                    try:
                        item = r2000.parse_inventory(frame)
                    except CodecError as exc:
                        self._reject(_frame_bytes(frame), exc.reason)
                        continue
                    if isinstance(item, r2000.InventoryTag):
                        seen = batch.get((item.epc, item.antenna))
                        if seen is None:
                            batch[(item.epc, item.antenna)] = [1, item.rssi]
                        else:
                            seen[0] += 1
                            seen[1] = max(seen[1], item.rssi)
                    elif isinstance(item, r2000.InventoryDone):
                        self._flush(batch, even_if_empty=True)
                        round_open = False
                    else:
                        self._reject(_frame_bytes(frame), item.reason)
                        self._flush(batch, even_if_empty=False)
                        round_open = False
                self._count_skips(decoder)
        finally:
            self._count_skips(decoder)
            self._skipped_base = self.counters.skipped_bytes
            self._bad_base = self.counters.bad_frames

    def _count_skips(self, decoder: r2000.FrameDecoder) -> None:
        self.counters.skipped_bytes = self._skipped_base + decoder.skipped_bytes
        self.counters.bad_frames = self._bad_base + decoder.bad_frames

    def _flush(self, batch: dict[tuple[str, int], list[float]], *, even_if_empty: bool) -> None:
        if not batch and not even_if_empty:
            return
        reads = tuple(
            TagRead(epc, antenna, rssi, int(count))
            for (epc, antenna), (count, rssi) in batch.items()
        )
        batch.clear()
        # An empty finished round is news too: a shelf antenna that sees nothing.
        self._emit(TagReads(self.device_id, _now(), None, reads, self.url))


def _frame_bytes(frame: r2000.Frame) -> bytes:
    return r2000.build_frame(frame.command, frame.data, address=frame.address)


class ClimatePort(SerialDevice):
    """An XY-MD02 temperature/humidity sensor polled over Modbus RTU through pymodbus."""

    def __init__(
        self,
        url: str,
        device_id: str,
        on_event: EventHandler,
        on_reject: RejectHandler | None = None,
        unit: int = 1,
        baudrate: int = 9600,
        interval_s: float = 30.0,
        *,
        timeout_s: float = 1.0,
        silent_polls: int = 3,
        **backoff: float,
    ) -> None:
        super().__init__(url, device_id, on_event, on_reject, **backoff)
        self.unit = unit
        self.baudrate = baudrate
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.silent_polls = silent_polls

    def _open(self) -> Any:
        from pymodbus.client import ModbusSerialClient

        # pymodbus defaults to 19200 baud; the XY-MD02 ships at 9600 8N1.
        client = ModbusSerialClient(
            port=self.url,
            baudrate=self.baudrate,
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=self.timeout_s,
            retries=0,
        )
        if not client.connect():
            raise serial.SerialException(f"could not open {self.url}")
        return client

    def _read_registers(self, client: Any) -> Any:
        try:
            return client.read_input_registers(
                modbus_climate.TEMPERATURE_REGISTER,
                count=modbus_climate.REGISTER_COUNT,
                device_id=self.unit,
            )
        except TypeError:  # pymodbus before 3.10 called the unit "slave"
            return client.read_input_registers(
                modbus_climate.TEMPERATURE_REGISTER,
                count=modbus_climate.REGISTER_COUNT,
                slave=self.unit,
            )

    def _serve(self, client: Any) -> None:
        misses = 0
        while not self.stopping:
            reason = None
            try:
                reply = self._read_registers(client)
            except Exception as exc:  # pymodbus raises ModbusException / ConnectionException
                reply, reason = None, f"no reply: {exc}"
            if reply is not None and reply.isError():
                reason = f"sensor answered with an error: {reply}"
            if reason is None:
                try:
                    temperature, humidity = modbus_climate.registers_to_climate(reply.registers)
                except CodecError as exc:
                    self._serving()
                    self._reject(_registers_bytes(reply.registers), exc.reason)
                else:
                    misses = 0
                    self._serving()
                    self._emit(
                        ClimateReading(
                            self.device_id, _now(), None, temperature, humidity, self.url
                        )
                    )
            else:
                misses += 1
                logger.debug("%s: %s", self.device_id, reason)
                if misses >= self.silent_polls or not client.connected:
                    raise DeviceSilent(reason)
            self._halt.wait(self.interval_s)


def _registers_bytes(registers: list[int]) -> bytes:
    return b"".join((r & 0xFFFF).to_bytes(2, "big") for r in registers)
