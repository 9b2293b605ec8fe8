"""The simulated serial devices on pty lines, read by the server's own serial ports."""

from __future__ import annotations

import random

import pytest

from devices.events import ClimateReading, Reject, Scan, TagReads
from devices.serial import ClimatePort, RfidReaderPort, ScannerPort
from simulators.serial_lines import BarcodeLine, ClimateLine, R2000Line

FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.4}
TAGS = [("3034257BF7194E4000000001", 1, -48.0), ("3034257BF7194E4000000002", 2, -55.0)]


@pytest.fixture
def garbage():
    """A switch standing in for the room's serial-garbage fault."""
    state = {"on": False}
    return state


def test_barcode_scans_arrive_as_codes_and_line_noise_as_rejects(make_sink, garbage):
    line = BarcodeLine("usb-1", garbage=lambda: garbage["on"], rng=random.Random(1))
    events, rejects = make_sink(), make_sink()
    port = ScannerPort(line.port, "usb-1", events, rejects, **FAST)
    port.start()
    try:
        events.wait_for(lambda items: any(getattr(i, "state", None) == "online" for i in items))
        line.scan("L00000042")
        line.scan("B00000001")
        events.wait_for(lambda items: len(events.of(Scan)) == 2)
        assert [s.code for s in events.of(Scan)] == ["L00000042", "B00000001"]
        garbage["on"] = True
        for _ in range(10):
            line.scan("B00000002")
            line.tick()
        events.wait_for(lambda items: len(events.of(Scan)) >= 12)
        assert rejects.of(Reject) and all(r.source == line.port for r in rejects.of(Reject))
        assert [s.code for s in events.of(Scan)][2:12] == ["B00000002"] * 10
    finally:
        port.stop()
        line.stop()


def test_r2000_reader_answers_inventory_polls_despite_broken_frames(make_sink, garbage):
    line = R2000Line("r2000-1", lambda: list(TAGS), garbage=lambda: garbage["on"],
                     rng=random.Random(2))
    line.start()
    events, rejects = make_sink(), make_sink()
    port = RfidReaderPort(line.port, "r2000-1", events, rejects, poll_interval_s=0.05, **FAST)
    port.start()
    try:
        events.wait_for(lambda items: len(events.of(TagReads)) >= 3)
        garbage["on"] = True
        seen = len(events.of(TagReads))
        events.wait_for(lambda items: len(events.of(TagReads)) >= seen + 10)
        for batch in events.of(TagReads):
            assert {(r.epc, r.antenna) for r in batch.reads} == {(e, a) for e, a, _ in TAGS}
        assert port.counters.skipped_bytes > 0  # the garbage was there, and skipped
    finally:
        port.stop()
        line.stop()


def test_xy_md02_sensor_answers_modbus_polls(make_sink, garbage):
    line = ClimateLine("md02-1", lambda: (21.4, 48.7), garbage=lambda: garbage["on"])
    line.start()
    events = make_sink()
    port = ClimatePort(line.port, "md02-1", events, None, interval_s=0.05, **FAST)
    port.start()
    try:
        events.wait_for(lambda items: len(events.of(ClimateReading)) >= 2)
        reading = events.of(ClimateReading)[0]
        assert (reading.temperature_c, reading.humidity_pct) == (21.4, 48.7)
        assert line.requests >= 2
    finally:
        port.stop()
        line.stop()
