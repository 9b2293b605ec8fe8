"""Serial devices through real pty pairs: scanner lines, R2000 frames, a Modbus sensor."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from pathlib import Path

import pytest

from devices.codecs import modbus_climate, r2000
from devices.events import ClimateReading, DeviceStatus, Reject, Scan, TagReads
from devices.serial import ClimatePort, RfidReaderPort, ScannerPort

EPC_A = "30340BD3D4C6B44000000001"
EPC_B = "30340BD3D4C6B44000000002"
FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.4}


class Pty:
    """A pseudo-terminal pair: the device side (master) is ours, the port opens the slave."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)  # no echo, no CR->LF translation before pyserial takes over
        self.name = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read(self, timeout: float = 0.1) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def pty_pair():
    pair = Pty()
    yield pair
    pair.close()


class Responder(threading.Thread):
    """Plays the device on the master side: answers each request with `answer(request)`."""

    def __init__(self, pty: Pty, split, answer) -> None:
        super().__init__(daemon=True)
        self.pty, self.split, self.answer = pty, split, answer
        self.requests: list[bytes] = []
        self.halt = threading.Event()

    def run(self) -> None:
        pending = b""
        while not self.halt.is_set():
            pending += self.pty.read(0.05)
            requests, pending = self.split(pending)
            for request in requests:
                self.requests.append(request)
                reply = self.answer(request)
                if reply:
                    self.pty.write(reply)

    def stop(self) -> None:
        self.halt.set()
        self.join(2)


def states(sink, device_id: str) -> list[str]:
    return [e.state for e in sink.items if isinstance(e, DeviceStatus) and e.device_id == device_id]


def test_scanner_lines_become_scans_and_junk_lines_become_rejects(pty_pair, make_sink):
    events, rejects = make_sink(), make_sink()
    port = ScannerPort(pty_pair.name, "desk-1", events, rejects)
    port.start()
    try:
        events.wait_for(lambda items: states(events, "desk-1") == ["online"])
        for chunk in (b"B0000", b"0001\r", b"\nL00001042\n", b"\x1b[2~\xff\r\n", b"B00000002\r"):
            pty_pair.write(chunk)
        events.wait_for(lambda items: len(events.of(Scan)) == 3)
        scans = events.of(Scan)
        assert [s.code for s in scans] == ["B00000001", "L00001042", "B00000002"]
        assert {s.device_id for s in scans} == {"desk-1"}
        assert scans[0].source == pty_pair.name
        (reject,) = rejects.wait_for(lambda items: len(items) == 1)
        assert isinstance(reject, Reject)
        assert reject.raw == b"\x1b[2~\xff" and reject.device_id == "desk-1"
    finally:
        port.stop()
    assert not port.is_alive()


def split_r2000(pending: bytes):
    decoder = r2000.FrameDecoder()
    frames = decoder.feed(pending)
    return frames, b""  # host commands arrive whole on a pty


def test_rfid_reader_rounds_become_tag_read_batches_despite_garbage(pty_pair, make_sink):
    def answer(frame: r2000.Frame) -> bytes:
        if frame.command != r2000.CMD_REAL_TIME_INVENTORY:
            return r2000.build_frame(frame.command, bytes((r2000.SUCCESS,)))
        good_a = r2000.build_tag_reply(EPC_A, antenna=1, rssi=-55)
        corrupt = bytearray(r2000.build_tag_reply(EPC_B, antenna=1, rssi=-50))
        corrupt[-1] ^= 0xFF
        return (
            b"\x00\x13garbage"
            + good_a
            + bytes(corrupt)
            + r2000.build_tag_reply(EPC_B, antenna=2, rssi=-62)
            + b"\xa0"  # a stray header byte right before the next frame
            + r2000.build_tag_reply(EPC_A, antenna=1, rssi=-51)
            + r2000.build_done_reply(antenna=1, read_rate=30, total_reads=3)
        )

    device = Responder(pty_pair, split_r2000, answer)
    device.start()
    events, rejects = make_sink(), make_sink()
    port = RfidReaderPort(pty_pair.name, "shelf-r1", events, rejects, poll_interval_s=0.2, **FAST)
    port.start()
    try:
        batches = events.wait_for(
            lambda items: len([e for e in items if isinstance(e, TagReads)]) >= 2
        )
        first = next(e for e in batches if isinstance(e, TagReads))
        reads = {(r.epc, r.antenna): r for r in first.reads}
        assert set(reads) == {(EPC_A, 1), (EPC_B, 2)}
        assert reads[(EPC_A, 1)].count == 2  # seen twice in the round, one read with a count
        assert reads[(EPC_A, 1)].rssi == -51.0  # the strongest sighting
        assert first.device_id == "shelf-r1" and first.seq is None
        assert states(events, "shelf-r1") == ["online"]
        assert port.counters.bad_frames >= 1
        assert port.counters.skipped_bytes >= len(b"\x00\x13garbage")
        assert rejects.items == []
        assert device.requests[0].command == r2000.CMD_REAL_TIME_INVENTORY
    finally:
        port.stop()
        device.stop()


def test_rfid_reader_cycles_antennas_and_reports_reader_errors(pty_pair, make_sink):
    def answer(frame: r2000.Frame) -> bytes:
        if frame.command == r2000.CMD_SET_WORK_ANTENNA:
            answer.antenna = frame.data[0] + 1
            return r2000.build_frame(frame.command, bytes((r2000.SUCCESS,)))
        if answer.antenna == 2:
            return r2000.build_error_reply(r2000.CMD_REAL_TIME_INVENTORY, 0x22)
        return r2000.build_tag_reply(
            EPC_A, antenna=answer.antenna, rssi=-60
        ) + r2000.build_done_reply(antenna=answer.antenna, read_rate=1, total_reads=1)

    answer.antenna = 1
    device = Responder(pty_pair, split_r2000, answer)
    device.start()
    events, rejects = make_sink(), make_sink()
    port = RfidReaderPort(
        pty_pair.name, "shelf-r2", events, rejects, poll_interval_s=0.1, antennas=(1, 2), **FAST
    )
    port.start()
    try:
        rejects.wait_for(lambda items: len(items) >= 1)
        events.wait_for(lambda items: len(events.of(TagReads)) >= 2)
        assert "antenna missing" in rejects.items[0].reason
        assert {r.antenna for batch in events.of(TagReads) for r in batch.reads} == {1}
    finally:
        port.stop()
        device.stop()


def split_modbus(pending: bytes):
    requests = []
    while len(pending) >= modbus_climate.REQUEST_SIZE:
        requests.append(pending[: modbus_climate.REQUEST_SIZE])
        pending = pending[modbus_climate.REQUEST_SIZE :]
    return requests, pending


def test_modbus_climate_sensor_is_polled_through_pymodbus(pty_pair, make_sink):
    def answer(request: bytes) -> bytes:
        req = modbus_climate.parse_request(request)
        assert (req.address, req.count) == (1, 2)
        return modbus_climate.build_reply(req.unit, -3.5, 47.3)

    sensor = Responder(pty_pair, split_modbus, answer)
    sensor.start()
    events, rejects = make_sink(), make_sink()
    port = ClimatePort(pty_pair.name, "cellar-1", events, rejects, unit=7, interval_s=0.1, **FAST)
    port.start()
    try:
        events.wait_for(lambda items: len(events.of(ClimateReading)) >= 2)
        reading = events.of(ClimateReading)[0]
        assert (reading.temperature_c, reading.humidity_pct) == (-3.5, 47.3)
        assert reading.device_id == "cellar-1"
        assert states(events, "cellar-1") == ["online"]
        assert sensor.requests[0] == modbus_climate.build_request(7)
        assert rejects.items == []
    finally:
        port.stop()
        sensor.stop()


def test_a_silent_sensor_is_reported_offline(pty_pair, make_sink):
    events = make_sink()
    port = ClimatePort(
        pty_pair.name,
        "cellar-2",
        events,
        None,
        interval_s=0.05,
        timeout_s=0.1,
        silent_polls=2,
        **FAST,
    )
    port.start()
    try:
        events.wait_for(lambda items: states(events, "cellar-2") == ["offline"])
        assert events.of(ClimateReading) == []
    finally:
        port.stop()


def test_a_port_that_disappears_is_offline_until_it_comes_back(tmp_path: Path, make_sink):
    link = tmp_path / "ttyScanner0"
    first = Pty()
    link.symlink_to(first.name)
    events, rejects = make_sink(), make_sink()
    port = ScannerPort(str(link), "door-1", events, rejects, **FAST)
    port.start()
    second = None
    try:
        events.wait_for(lambda items: states(events, "door-1") == ["online"])
        first.write(b"B00000001\r\n")
        events.wait_for(lambda items: len(events.of(Scan)) == 1)

        first.close()  # unplugged
        events.wait_for(lambda items: states(events, "door-1") == ["online", "offline"])

        second = Pty()  # plugged back in, the udev-style name points at the new device
        tmp_link = tmp_path / "ttyScanner0.new"
        tmp_link.symlink_to(second.name)
        os.replace(tmp_link, link)
        events.wait_for(lambda items: states(events, "door-1") == ["online", "offline", "online"])
        second.write(b"B00000002\r\n")
        events.wait_for(lambda items: len(events.of(Scan)) == 2)
        assert [s.code for s in events.of(Scan)] == ["B00000001", "B00000002"]
        assert port.counters.opens >= 2
    finally:
        port.stop()
        if second:
            second.close()
    assert not port.is_alive()


def test_a_port_that_never_opens_is_offline_and_stop_is_prompt(tmp_path: Path, make_sink):
    events = make_sink()
    port = RfidReaderPort(str(tmp_path / "nothing-here"), "ghost", events, None, **FAST)
    port.start()
    events.wait_for(lambda items: states(events, "ghost") == ["offline"])
    port.stop(timeout=2)
    assert not port.is_alive()
    assert port.counters.failures >= 1
