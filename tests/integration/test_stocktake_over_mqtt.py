"""A stocktake counted by handheld devices through a real broker: an RFID sweep and a scanner."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.integration.test_twin_over_mqtt import Device, _ts, auth_for, wait_until  # noqa: F401
from tests.integration.tree import build_tree


@pytest.fixture
def live_settings(settings, mqtt_url, topic_root):
    return settings.model_copy(update={
        "devices_enabled": True, "jobs_enabled": False, "mqtt_url": mqtt_url,
        "mqtt_topic_root": topic_root, "mqtt_client_id": f"server-{uuid.uuid4().hex[:8]}",
    })


@pytest.fixture
def room(db, live_settings, auth_for):  # noqa: F811
    """A running server: Shelf 4 (Slot 1, Slot 2), Shelf 5 (Slot 3), a handheld reader and a
    handheld scanner."""
    with TestClient(create_app(live_settings)) as client:
        admin = auth_for(client, "admin")
        codes = build_tree(client, admin, slot_capacity=10)
        epcs: dict[str, str] = {}
        for slot in ("Slot 1", "Slot 2"):
            epcs[slot] = client.get(f"/api/locations/{codes[slot]}", headers=admin).json()["epc"]
        shelf5 = client.post("/api/locations", headers=admin, json={
            "name": "Shelf 5", "kind": "shelf", "parent": codes["section"]}).json()
        slot3 = client.post("/api/locations", headers=admin, json={
            "name": "Slot 3", "kind": "slot", "parent": shelf5["code"], "capacity": 10}).json()
        codes["Slot 3"], epcs["Slot 3"] = slot3["code"], slot3["epc"]
        for spec in ({"id": "wand-1", "type": "reader", "role": "handheld"},
                     {"id": "gun-1", "type": "scanner"}):
            assert client.post("/api/devices", headers=admin, json=spec).status_code == 201
        yield client, admin, codes, epcs


def _box(client, admin, at: str) -> dict:
    box = client.post("/api/boxes", headers=admin, json={}).json()
    assert client.post(f"/api/boxes/{box['code']}/move", headers=admin,
                       json={"to": at}).status_code == 200
    return box


def test_an_rfid_sweep_counts_by_location_tag_moves_nothing_and_apply_is_published(
        room, mqtt_url, topic_root):
    client, admin, codes, epcs = room
    in_place = _box(client, admin, codes["Slot 1"])
    misplaced = _box(client, admin, codes["Slot 1"])
    missing = _box(client, admin, codes["Slot 2"])
    from_next_shelf = _box(client, admin, codes["Slot 3"])
    outside_unheard = _box(client, admin, codes["Slot 3"])
    started = client.post("/api/stocktakes", headers=admin,
                          json={"scope": codes["shelf"], "device": "wand-1"})
    assert started.status_code == 201, started.text
    sid = started.json()["id"]
    assert started.json()["expected"] == 3

    wand = Device(mqtt_url, topic_root)
    twin = Device(mqtt_url, topic_root, listen="twin/boxes/+")
    try:
        wand.send("readers/wand-1/reads", {"ts": _ts(), "seq": 1, "reads": [
            {"epc": epcs["Slot 1"], "antenna": 1, "rssi": -40.0, "count": 5},
            {"epc": in_place["epc"], "antenna": 1, "rssi": -48.0, "count": 3},
            {"epc": from_next_shelf["epc"], "antenna": 1, "rssi": -52.0, "count": 2}]})
        wand.send("readers/wand-1/reads", {"ts": _ts(), "seq": 2, "reads": [
            {"epc": epcs["Slot 2"], "antenna": 1, "rssi": -41.0, "count": 4},
            {"epc": epcs["Slot 1"], "antenna": 1, "rssi": -63.0, "count": 1},  # heard faintly
            {"epc": misplaced["epc"], "antenna": 1, "rssi": -47.0, "count": 3},
            {"epc": in_place["epc"], "antenna": 1, "rssi": -70.0, "count": 1}]})  # heard again
        wait_until(lambda: client.get(f"/api/stocktakes/{sid}", headers=admin).json()["seen"] == 3)
        shown = client.get(f"/api/stocktakes/{sid}", headers=admin).json()
        assert shown["found"] == [in_place["code"]]
        assert [(m["box"], m["expected"], m["seen"]) for m in shown["misplaced"]] == [
            (misplaced["code"], codes["Slot 1"], codes["Slot 2"])]
        assert shown["missing"] == [missing["code"]]
        assert [(u["box"], u["expected"], u["seen"]) for u in shown["unexpected"]] == [
            (from_next_shelf["code"], codes["Slot 3"], codes["Slot 1"])]
        assert shown["duplicates"] == []  # a reader hearing a tag again is no duplicate scan
        assert outside_unheard["code"] not in shown["missing"]
        # the sweep moved nothing
        for box, where in ((misplaced, "Slot 1"), (from_next_shelf, "Slot 3")):
            now_at = client.get(f"/api/boxes/{box['code']}", headers=admin).json()
            assert now_at["location"] == codes[where] and now_at["status"] == "on_shelf"

        applied = client.post(f"/api/stocktakes/{sid}/apply", headers=admin).json()
        assert applied["moved"] == 2 and applied["marked_missing"] == 1
        heard = twin.wait_for(lambda h: {(p["code"], p["location"], p["status"]) for _, p in h} >= {
            (misplaced["code"], codes["Slot 2"], "on_shelf"),
            (from_next_shelf["code"], codes["Slot 1"], "on_shelf"),
            (missing["code"], codes["Slot 2"], "missing")})
        assert all(topic.startswith(f"{topic_root}/twin/boxes/") for topic, _ in heard)
    finally:
        wand.close()
        twin.close()
    # the retained twin says so to whoever subscribes later
    late = Device(mqtt_url, topic_root, listen=f"twin/boxes/{missing['code']}")
    try:
        [(_, state)] = late.wait_for(lambda h: len(h) >= 1)
        assert state["status"] == "missing"
    finally:
        late.close()


def test_a_sweep_that_hears_a_location_outside_the_scope_counts_nothing(room, mqtt_url, topic_root):
    client, admin, codes, epcs = room
    box = _box(client, admin, codes["Slot 3"])
    sid = client.post("/api/stocktakes", headers=admin,
                      json={"scope": codes["shelf"], "device": "wand-1"}).json()["id"]
    wand = Device(mqtt_url, topic_root)
    try:
        wand.send("readers/wand-1/reads", {"ts": _ts(), "seq": 1, "reads": [
            {"epc": epcs["Slot 3"], "antenna": 1, "rssi": -40.0, "count": 5},
            {"epc": box["epc"], "antenna": 1, "rssi": -45.0, "count": 3}]})
        wait_until(lambda: client.get("/api/devices/rejects", headers=admin).json()["total"] >= 1)
        reject = client.get("/api/devices/rejects", headers=admin).json()["items"][0]
        assert reject["device"] == "wand-1" and "outside stocktake" in reject["reason"]
        assert client.get(f"/api/stocktakes/{sid}", headers=admin).json()["seen"] == 0
    finally:
        wand.close()


def test_a_handheld_scanner_counting_a_stocktake_moves_nothing(room, mqtt_url, topic_root):
    client, admin, codes, _ = room
    box = _box(client, admin, codes["Slot 1"])
    gun = Device(mqtt_url, topic_root)
    answers = Device(mqtt_url, topic_root, listen="scanners/gun-1/results")
    try:
        # shelving into Slot 2 before the stocktake: that target is not where boxes are seen
        gun.send("scanners/gun-1/scans", {"ts": _ts(), "seq": 1, "code": codes["Slot 2"]})
        answers.wait_for(lambda h: len(h) >= 1)
        sid = client.post("/api/stocktakes", headers=admin,
                          json={"scope": codes["room"], "device": "gun-1"}).json()["id"]
        for seq, code in enumerate((box["code"], codes["Slot 2"], box["code"]), start=2):
            gun.send("scanners/gun-1/scans", {"ts": _ts(), "seq": seq, "code": code})
        heard = answers.wait_for(lambda h: len(h) >= 4)
        assert [p["action"] for _, p in heard[1:]] == ["counted", "target", "duplicate"]
        assert all(p["ok"] for _, p in heard)
        assert heard[1][1]["location"] is None  # seen somewhere in the room: found
        shown = client.get(f"/api/stocktakes/{sid}", headers=admin).json()
        assert shown["found"] == [box["code"]] and shown["duplicates"] == [box["code"]]
        assert client.get(f"/api/boxes/{box['code']}", headers=admin).json()["location"] == \
            codes["Slot 1"]
        # once the stocktake is cancelled the same scanner shelves again, into its own target
        assert client.post(f"/api/stocktakes/{sid}/cancel", headers=admin).status_code == 200
        gun.send("scanners/gun-1/scans", {"ts": _ts(), "seq": 5, "code": box["code"]})
        heard = answers.wait_for(lambda h: len(h) >= 5)
        assert heard[4][1]["action"] == "moved" and heard[4][1]["location"] == codes["Slot 2"]
        assert client.get(f"/api/boxes/{box['code']}", headers=admin).json()["location"] == \
            codes["Slot 2"]
    finally:
        gun.close()
        answers.close()
