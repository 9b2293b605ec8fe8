"""Faults on demand: which are known, how they are aimed, what they do to the wire."""

from __future__ import annotations

import random

import pytest

from devices.codecs import modbus_climate, r2000
from devices.codecs.errors import CodecError
from devices.codecs.scanner_lines import LineDecoder
from simulators.clock import SimClock
from simulators.faults import (
    HVAC_FAILURE,
    SENSOR_DROPOUT,
    UNAUTHORIZED_REMOVAL,
    Faults,
    UnknownFault,
    break_frame,
    check,
    line_garbage,
)
from simulators.layout import BoxSpec, Place
from simulators.room import RoomTruth
from simulators.staff import Staff, StaffRates, happens


def test_unknown_faults_are_refused_with_the_known_names():
    with pytest.raises(UnknownFault, match="hvac-failure"):
        check("flood")


def test_a_fault_aimed_at_one_sensor_leaves_the_others_alone():
    faults = Faults()
    faults.activate(SENSOR_DROPOUT, "th-r1")
    assert faults.active(SENSOR_DROPOUT, "th-r1") and not faults.active(SENSOR_DROPOUT, "th-r2")
    faults.activate(HVAC_FAILURE)
    assert faults.active(HVAC_FAILURE, "any room")
    faults.activate(UNAUTHORIZED_REMOVAL)  # one-shot: it happens, it does not last
    assert faults.names() == [HVAC_FAILURE, SENSOR_DROPOUT]
    assert faults.clear(SENSOR_DROPOUT) and not faults.clear(SENSOR_DROPOUT)


def test_broken_frames_never_pass_for_good_ones_and_good_frames_after_them_still_do():
    rng = random.Random(3)
    good = r2000.build_tag_reply("3034257BF7194E4000000001", antenna=1, rssi=-50.0)
    decoder = r2000.FrameDecoder()
    stream = b"".join(line_garbage(rng) + break_frame(good, rng) + good for _ in range(50))
    frames = decoder.feed(stream)
    assert len(frames) >= 50
    assert all(r2000.parse_inventory(f).epc == "3034257BF7194E4000000001" for f in frames)
    reply = modbus_climate.build_reply(1, 20.5, 50.0)
    for _ in range(50):
        with pytest.raises(CodecError):
            modbus_climate.parse_reply(break_frame(reply, rng))


def test_line_noise_on_a_scanner_becomes_a_bad_line_not_a_code():
    noisy = bytes((0x80 | 5,)) + line_garbage(random.Random(4)) + b"\r\n" + b"B00000001\r\n"
    lines = LineDecoder().feed(noisy)
    assert isinstance(lines[0], CodecError) and lines[-1] == "B00000001"


def test_staff_carry_a_box_out_through_the_door_and_bring_it_back_later():
    places = {
        "R": Place("R", "room", None, "01", "Room"),
        "S1": Place("S1", "shelf", "R", "02", "Room › Shelf 1"),
        "A": Place("A", "slot", "S1", "03", "Room › Shelf 1 › A", 1),
        "S2": Place("S2", "shelf", "R", "04", "Room › Shelf 2"),
        "B": Place("B", "slot", "S2", "05", "Room › Shelf 2 › B", 1),
    }
    truth = RoomTruth(places, [BoxSpec("B1", "0A", "A", "on_shelf")])
    wall = [0.0]
    doors: list[tuple[str, str]] = []

    def door(box: str, room: str) -> bool:
        doors.append((box, room))
        return True

    staff = Staff(truth, SimClock(1, monotonic=lambda: wall[0]), random.Random(5),
                  StaffRates(away_s=(100, 100)), door=door)
    move = staff.take_out()
    assert move is not None and move.box == "B1" and truth.is_out("B1")
    assert doors == [("B1", "R")] and truth.boxes_under(truth.subtree("R")) == []
    wall[0] = 101.0
    staff.tick(0.0)
    assert truth.where("B1") == "A" and doors == [("B1", "R"), ("B1", "R")]
    moved = staff.move_a_box("B1")
    assert moved is not None and moved.target == "B"  # the only free slot on another shelf
    assert staff.move_a_box("B1") is not None and truth.where("B1") == "A"
    assert not happens(0.0, 3600, random.Random(6)) and happens(1e9, 1.0, random.Random(6))
