"""The readers' noise model and what a shelf reader reports from the room's truth."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from devices.codecs import mqtt_json
from simulators.layout import BoxSpec, DeviceSpec, Place
from simulators.readers import GateReader, ReadNoise, ShelfReader
from simulators.room import RoomTruth

EPC = "3034257BF7194E4000000001"


def truth() -> RoomTruth:
    places = {
        "L1": Place("L1", "room", None, "3210", "Room"),
        "L2": Place("L2", "shelf", "L1", "3220", "Room › Shelf 1"),
        "L3": Place("L3", "slot", "L2", "3230", "Room › Shelf 1 › Slot 1", 2),
        "L4": Place("L4", "shelf", "L1", "3240", "Room › Shelf 2"),
        "L5": Place("L5", "slot", "L4", "3250", "Room › Shelf 2 › Slot 1", 2),
    }
    boxes = [BoxSpec("B1", EPC, "L3", "on_shelf"), BoxSpec("B2", "30340000000000000000000B", None,
                                                             "in_transit")]
    return RoomTruth(places, boxes)


def test_reads_are_mostly_heard_with_counts_and_signal_in_range():
    noise, rng = ReadNoise(cross_read=0.0), random.Random(1)
    heard = [noise.hear(EPC, 1, [2], rng) for _ in range(2000)]
    missed = sum(1 for h in heard if not h)
    assert 40 <= missed <= 170  # about 5 % of 2000
    reads = [r for h in heard for r in h]
    assert all(r.antenna == 1 and 2 <= r.count <= 6 and -58 <= r.rssi <= -40 for r in reads)


def test_cross_reads_are_weak_one_offs_on_a_neighbouring_antenna():
    noise, rng = ReadNoise(miss=0.0, cross_read=0.5), random.Random(2)
    cross = [r for _ in range(400) for r in noise.hear(EPC, 2, [1, 3], rng) if r.antenna != 2]
    assert 120 <= len(cross) <= 280
    assert {r.antenna for r in cross} == {1, 3}
    assert all(r.count == 1 and -71.5 <= r.rssi <= -68.5 for r in cross)
    assert noise.hear(EPC, 1, [], random.Random(3))[0].antenna == 1  # no neighbour, no cross-read


def test_a_shelf_reader_reports_boxes_under_each_antenna_and_the_slot_tags():
    room = truth()
    reader = ShelfReader(DeviceSpec("shelf-1", "reader", "shelf", {1: "L2", 2: "L4"}), room)
    noise = ReadNoise(miss=0.0, cross_read=0.0)
    first = reader.report(room, noise, random.Random(4), datetime.now(UTC))
    second = reader.report(room, noise, random.Random(4), datetime.now(UTC))
    assert (first.seq, second.seq) == (1, 2)
    boxes = [(r.epc, r.antenna) for r in first.reads if r.epc == EPC]
    assert boxes == [(EPC, 1)]  # the loose box B2 is on no shelf, so nobody hears it
    assert {r.epc for r in first.reads if r.epc != EPC} == {"3220", "3230", "3240", "3250"}
    room.put("B1", "L5", by="wang", why="move", at=datetime.now(UTC))
    after = reader.report(room, noise, random.Random(5), datetime.now(UTC))
    assert [(r.epc, r.antenna) for r in after.reads if r.epc == EPC] == [(EPC, 2)]


def test_the_message_on_the_wire_decodes_back_to_what_the_reader_saw():
    room = truth()
    reader = ShelfReader(DeviceSpec("shelf-1", "reader", "shelf", {1: "L2"}), room)
    event = reader.report(room, ReadNoise(), random.Random(6), datetime.now().astimezone())
    topic, payload = mqtt_json.encode(event)
    assert mqtt_json.decode(topic, payload) == event.__class__(
        event.device_id, event.ts, event.seq, event.reads, topic)


def test_a_gate_sees_what_passes_and_republishing_is_rare():
    gate = GateReader(DeviceSpec("gate-1", "reader", "gate", room="L1"))
    message = gate.passing([EPC], ReadNoise(), random.Random(7), datetime.now(UTC))
    assert message.seq == 1 and [r.epc for r in message.reads] == [EPC]
    rng = random.Random(8)
    repeats = sum(ReadNoise().republish(rng) for _ in range(5000))
    assert 50 <= repeats <= 160  # about 2 %
