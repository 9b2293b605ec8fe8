"""End to end: the virtual room drives the real server over a real broker and a pty line,
and what the simulated people and devices did shows through the HTTP API."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import Session, col, func, select

from server.app import create_app
from server.models.climate import ClimateSample
from server.models.devices import DeviceCreate
from server.services import devices, people, sample_archive
from server.services.sample_archive import SampleSize
from simulators.climate import HvacFailure
from simulators.faults import HVAC_FAILURE, SERIAL_GARBAGE, UNAUTHORIZED_REMOVAL
from simulators.readers import ReadNoise
from simulators.serial_lines import BarcodeLine
from simulators.staff import StaffRates
from simulators.virtual_room import RoomOptions, VirtualRoom
from tests.conftest import PASSWORD, SCHEME

SMALL = SampleSize(units_per_room=1, sections=1, shelves=3, slots_per_shelf=2, slot_capacity=2,
                   boxes=20, records=5)
USER = "facilities-sim"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until check() returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"within {timeout:.0f}s: {what}")
        time.sleep(0.25)


@dataclass
class LiveServer:
    url: str
    api: httpx.Client
    engine: Any


@pytest.fixture
def barcode() -> Iterator[BarcodeLine]:
    line = BarcodeLine("usb-scanner-1")
    yield line
    line.stop()


@pytest.fixture
def live_server(settings, db, mqtt_url, topic_root, barcode) -> Iterator[LiveServer]:
    """The real app under uvicorn with devices on, a small seeded archive and its devices."""
    with Session(db) as session:
        sample_archive.seed(session, scheme=SCHEME, size=SMALL)
        sample_archive.register_devices(session)
        devices.register(session, DeviceCreate(id=barcode.device_id, type="scanner"), actor="t")
        people.create_user(session, username=USER, role="facilities", password=PASSWORD)
        session.commit()
    app = create_app(settings.model_copy(update={
        "devices_enabled": True, "jobs_enabled": False, "mqtt_url": mqtt_url,
        "mqtt_topic_root": topic_root, "mqtt_client_id": f"server-{uuid.uuid4().hex[:8]}",
        "serial_devices": [barcode.spec],
    }))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-simulator", daemon=True)
    thread.start()
    eventually(lambda: server.started, "the app started under uvicorn", timeout=20)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as api:
        token = api.post("/api/auth/token", data={"username": USER, "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield LiveServer(url, api, db)
    server.should_exit = True
    thread.join(15)


def test_the_virtual_room_drives_the_twin(live_server, mqtt_url, topic_root, barcode):
    api = live_server.api
    options = RoomOptions(
        speed=20, root=topic_root, seed=7,
        noise=ReadNoise(duplicate=0.2),  # plenty of re-published messages to drop
        rates=StaffRates(moves_per_hour=0, removals_per_hour=0, shelving_per_hour=0,
                         away_s=(3600, 3600)),  # people act only when the test asks
        hvac=HvacFailure(time_constant_s=120),
    )
    room = VirtualRoom.from_api(live_server.url, mqtt_url, username=USER, password=PASSWORD,
                                options=options, lines=[barcode])
    assert len(room.shelf_readers) == 4 and len(room.sensors) == 2 and set(room.gates)
    room.start()
    try:
        # Boxes are heard by the shelf reader whose antenna covers their shelf.
        heard = room.truth.shelved()[0]
        reader = next(p.device.id for p in room.shelf_readers
                      if room.truth.where(heard) in {c for cs in p.device.covers.values()
                                                      for c in cs})
        eventually(lambda: api.get(f"/api/boxes/{heard}").json()["last_seen_by"] == reader,
                   f"{heard} last seen by {reader}")

        # Enough climate to know the normal humidity before the HVAC fails.
        def humidity() -> tuple[int, float]:
            with Session(live_server.engine) as s:
                return s.exec(select(func.count(), func.max(ClimateSample.humidity_pct))).one()

        eventually(lambda: humidity()[0] >= 4, "climate samples stored")
        normal = humidity()[1]

        move = room.move_a_box()
        assert move is not None and move.target is not None
        taken = room.inject(UNAUTHORIZED_REMOVAL)
        assert taken is not None and room.truth.is_out(taken)
        # Wire timestamps are real time while the climate runs fast: hold the alarm 8 s here.
        sensor_room = api.get(f"/api/devices/{room.sensors[0].device.id}").json()["room"]
        quick = dict(api.get(f"/api/rooms/{sensor_room}/climate").json()["profile"],
                     name="quick", hold_s=8)
        assert api.put(f"/api/rooms/{sensor_room}/climate", json=quick).status_code == 200
        room.inject(HVAC_FAILURE)
        room.inject(SERIAL_GARBAGE)

        def removal_alarm() -> bool:
            alarms = api.get("/api/alarms", params={"state": "active"}).json()["items"]
            return any(a["kind"] == "unauthorized_removal" and a["subject"] == taken
                       for a in alarms)

        eventually(removal_alarm, f"an active unauthorized_removal alarm for {taken}")

        def serial_reject() -> bool:
            barcode.scan(move.target)  # half of the scans come with a burst of line noise
            rejects = api.get("/api/devices/rejects").json()["items"]
            return any(r["topic"] == barcode.port and r["device"] == barcode.device_id
                       for r in rejects)

        eventually(serial_reject, "line noise on the serial scanner kept as a reject")

        def humid() -> bool:
            with Session(live_server.engine) as s:
                return bool(s.exec(select(func.count()).where(
                    col(ClimateSample.humidity_pct) > normal + 8)).one())

        eventually(humid, f"stored humidity climbing well above {normal} % RH")

        def damp_alarm() -> bool:
            items = api.get("/api/alarms", params={"state": "active"}).json()["items"]
            return any(a["kind"] == "humidity_high" and a["subject"] == sensor_room
                       for a in items)

        eventually(damp_alarm, f"the failing HVAC raised humidity_high for {sensor_room}",
                   timeout=40)

        # The move shows once the old shelf's evidence has aged out of the placement window.
        new_places = {move.target, room.truth.shelf_of(move.target)}
        eventually(lambda: api.get(f"/api/boxes/{move.box}").json()["location"] in new_places,
                   f"{move.box} shown at {move.target} after the move", timeout=40)
    finally:
        room.stop()

    # Every read the room published was counted once: duplicates were dropped.
    sensor = room.sensors[0].device.id
    sent = {device_id: room.tally(device_id) for device_id in room.tallies}
    assert sum(t.duplicates for t in sent.values()) > 0

    def counted() -> dict[str, int]:
        rows = api.get("/api/devices", params={"limit": 500}).json()["items"]
        return {d["id"]: d["reads_total"] for d in rows if d["id"] in sent}

    expected = {device_id: tally.reads for device_id, tally in sent.items()}
    eventually(lambda: counted() == expected, f"reads_total equal to what was sent: {expected}",
               timeout=15)

    def state(device_id: str) -> str:
        return api.get(f"/api/devices/{device_id}").json()["state"]

    # A clean stop says offline for every device, the shared shelf client's readers too.
    eventually(lambda: state(reader) == "offline" and state(sensor) == "offline",
               f"{reader} and {sensor} offline after the room stopped", timeout=10)
