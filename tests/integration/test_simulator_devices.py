"""The virtual room's devices on a real broker, heard by a plain MQTT subscriber."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
import pytest

from simulators.broker_clients import broker_address
from simulators.faults import SENSOR_DROPOUT
from simulators.layout import BoxSpec, DeviceSpec, Layout, Place
from simulators.readers import ReadNoise
from simulators.staff import StaffRates
from simulators.virtual_room import RoomOptions, VirtualRoom

PLACES = {
    "L1": Place("L1", "room", None, "32100001", "Room"),
    "L2": Place("L2", "shelf", "L1", "32100002", "Room › Shelf 1"),
    "L3": Place("L3", "slot", "L2", "32100003", "Room › Shelf 1 › Slot 1", 2),
    "L4": Place("L4", "shelf", "L1", "32100004", "Room › Shelf 2"),
    "L5": Place("L5", "slot", "L4", "32100005", "Room › Shelf 2 › Slot 1", 2),
}
BOXES = [BoxSpec("B1", "3034000000000001", "L3", "on_shelf"),
         BoxSpec("B2", "3034000000000002", "L3", "on_shelf"),
         BoxSpec("B3", "3034000000000003", None, "in_transit")]
DEVICES = [
    DeviceSpec("shelf-1", "reader", "shelf", {1: "L2", 2: "L4"}, report_interval_s=10),
    DeviceSpec("gate-1", "reader", "gate", room="L1"),
    DeviceSpec("hh-1", "scanner"),
    DeviceSpec("th-1", "sensor", room="L1", report_interval_s=10),
    DeviceSpec("th-2", "sensor", room="L1", report_interval_s=10),
]


class Listener:
    """A plain subscriber to everything under the root."""

    def __init__(self, url: str, root: str) -> None:
        host, port, user, password, _ = broker_address(url)
        self.root = root
        self.heard: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                                  client_id=f"listener-{uuid.uuid4().hex[:8]}")
        if user:
            self.client.username_pw_set(user, password)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(f"{root}/#", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, _client, _userdata, message) -> None:
        with self._cond:
            self.heard.append((message.topic[len(self.root) + 1:], message.payload,
                               message.retain))
            self._cond.notify_all()

    def on(self, topic: str) -> list[bytes]:
        with self._cond:
            return [p for t, p, _ in self.heard if t == topic]

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{what} did not happen; heard {[t for t, _, _ in self.heard]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def status(listener: Listener, device: str) -> str | None:
    said = listener.on(f"devices/{device}/status")
    return json.loads(said[-1])["state"] if said else None


def test_room_devices_speak_the_contract(mqtt_url, topic_root):
    listener = Listener(mqtt_url, topic_root)
    options = RoomOptions(speed=50, root=topic_root, seed=3, noise=ReadNoise(duplicate=0.3),
                          rates=StaffRates(moves_per_hour=0, removals_per_hour=0,
                                           shelving_per_hour=0))
    room = VirtualRoom(Layout(PLACES, BOXES, DEVICES), mqtt_url, options)
    room.start()
    try:
        listener.wait_for(lambda: all(status(listener, d.id) == "online" for d in DEVICES),
                          "every device announcing itself online")
        listener.wait_for(lambda: len(listener.on("readers/shelf-1/reads")) >= 15
                          and len(listener.on("sensors/th-2/climate")) >= 3,
                          "shelf reports and climate readings")

        reads = [json.loads(p) for p in listener.on("readers/shelf-1/reads")]
        first = reads[0]
        assert first["ts"][-6] in "+-" and first["seq"] >= 1
        boxes = {r["epc"] for r in first["reads"] if r["count"] > 1 and r["epc"].startswith("3034")}
        assert boxes <= {"3034000000000001", "3034000000000002"}  # B3 is on no shelf
        seqs = [m["seq"] for m in reads]
        assert sorted(set(seqs)) == list(range(1, max(seqs) + 1))
        assert len(seqs) > len(set(seqs))  # some were published twice, same seq...
        by_seq: dict[int, set[str]] = {}
        for m in reads:
            by_seq.setdefault(m["seq"], set()).add(m["ts"])
        assert all(len(ts) == 1 for ts in by_seq.values())  # ...and the same ts

        # a shelf light obeys the server's command, and ignores a malformed one
        listener.client.publish(f"{topic_root}/lights/L3/set",
                                json.dumps({"on": True, "color": "green", "seconds": 0}), qos=1)
        listener.client.publish(f"{topic_root}/lights/L5/set", b'{"on": "yes"}', qos=1)
        listener.wait_for(lambda: room.lights.refused == 1 and room.lights.commands == 1,
                          "the light commands reaching the room")
        light = room.lights.state("L3")
        assert light is not None and light.on and light.color == "green"
        assert room.lights.lit() == ["L3"]

        # a shelving session: the location first, then the boxes, from the one scanner
        codes = room.shelve()
        assert codes is not None and codes[0] in {"L3", "L5"} and "B3" in codes
        listener.wait_for(lambda: len(listener.on("scanners/hh-1/scans")) == len(codes),
                          "the scans of the session")
        scans = [json.loads(p) for p in listener.on("scanners/hh-1/scans")]
        assert [s["code"] for s in scans] == codes and scans[0]["operator"]
        assert room.truth.where("B3") == codes[0]

        # a sensor that drops out goes quiet while the other keeps talking
        assert room.inject(SENSOR_DROPOUT, "th-1") == "th-1"
        time.sleep(0.5)
        quiet_from = len(listener.on("sensors/th-1/climate"))
        other_from = len(listener.on("sensors/th-2/climate"))
        listener.wait_for(lambda: len(listener.on("sensors/th-2/climate")) >= other_from + 3,
                          "the other sensor going on")
        assert len(listener.on("sensors/th-1/climate")) == quiet_from
    finally:
        room.stop()
    listener.wait_for(lambda: all(status(listener, d.id) == "offline" for d in DEVICES),
                      "every device saying offline on a clean stop")
    tally = room.tally("shelf-1")
    heard = listener.on("readers/shelf-1/reads")
    assert tally.messages + tally.duplicates == len(heard)
    assert tally.reads == sum(len(json.loads(p)["reads"]) for p in set(heard))
    listener.close()
