"""The device registry over HTTP: what a registration must say, and who may make one."""

from __future__ import annotations

import pytest

from tests.integration.tree import build_tree


@pytest.fixture
def place(client, auth):
    return build_tree(client, auth("admin"))


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"id": "r-1", "type": "reader"}, "role", "needs a role"),
    ({"id": "s-1", "type": "scanner", "role": "shelf"}, "role", "only readers have a role"),
    ({"id": "r-2", "type": "reader", "role": "shelf"}, "antennas", "antenna"),
    ({"id": "r-3", "type": "reader", "role": "shelf", "antennas": {"99": "SLOT"}}, "antennas",
     "port number 1 to 64"),
    ({"id": "g-1", "type": "reader", "role": "gate"}, "room", "the room whose door"),
    ({"id": "c-1", "type": "sensor"}, "room", "the room it measures"),
    ({"id": "c-2", "type": "sensor", "room": "SHELF"}, "room", "not a room"),
])
def test_a_registration_that_cannot_work_is_refused_with_the_field(client, auth, place, body,
                                                                   field, words):
    body = {k: ({a: place["Slot 1"] for a in v} if k == "antennas" else v) for k, v in body.items()}
    if body.get("room") == "SHELF":
        body["room"] = place["shelf"]
    answer = client.post("/api/devices", headers=auth("admin"), json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and words in answer.json()["detail"]
    assert client.get("/api/devices", headers=auth("admin")).json()["total"] == 0


def test_a_device_id_is_registered_once_and_only_admins_or_facilities_register(client, auth, place):
    body = {"id": "gate-1", "type": "reader", "role": "gate", "room": place["room"]}
    assert client.post("/api/devices", headers=auth("admin"), json=body).status_code == 201
    again = client.post("/api/devices", headers=auth("admin"), json=body)
    assert again.status_code == 409 and again.json()["field"] == "id"
    assert client.post("/api/devices", headers=auth("staff"), json={**body, "id": "g2"}).status_code == 403
    assert client.post("/api/devices", json={**body, "id": "g3"}).status_code == 401
    assert client.get("/api/devices").status_code == 401
    assert client.get("/api/alarms").status_code == 401
    assert client.get("/api/alarms", headers=auth("borrower")).status_code == 403
    assert client.post("/api/alarms/999999/clear", headers=auth("admin")).status_code == 404


def test_a_device_is_corrected_with_the_same_rules_and_retired_by_facilities(client, auth, place):
    admin = auth("admin")
    body = {"id": "shelf-9", "type": "reader", "role": "shelf", "antennas": {"1": place["Slot 1"]}}
    assert client.post("/api/devices", headers=admin, json=body).status_code == 201
    moved = client.patch("/api/devices/shelf-9", headers=auth("facilities"),
                         json={"antennas": {"1": place["Slot 2"], "2": place["Slot 1"]}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["antennas"] == {"1": place["Slot 2"], "2": place["Slot 1"]}
    assert moved.json()["role"] == "shelf"  # what was not given stays
    # a correction that could not work is refused with its field, and nothing changes
    wrong = client.patch("/api/devices/shelf-9", headers=admin, json={"antennas": {}})
    assert wrong.status_code == 422 and wrong.json()["field"] == "antennas"
    nowhere = client.patch("/api/devices/shelf-9", headers=admin,
                           json={"antennas": {"1": "L99999999"}})
    assert nowhere.status_code in (404, 422) and nowhere.json()["field"] == "antennas"
    assert client.get("/api/devices/shelf-9", headers=admin).json()["antennas"] == {
        "1": place["Slot 2"], "2": place["Slot 1"]}
    assert client.patch("/api/devices/shelf-9", headers=admin,
                        json={"type": "sensor"}).status_code == 422  # a type does not change
    assert client.patch("/api/devices/shelf-9", headers=auth("staff"),
                        json={"role": "gate"}).status_code == 403
    assert client.patch("/api/devices/nope", headers=admin, json={}).status_code == 404

    assert client.delete("/api/devices/shelf-9", headers=auth("staff")).status_code == 403
    assert client.delete("/api/devices/shelf-9", headers=admin).status_code == 204
    assert client.get("/api/devices/shelf-9", headers=admin).status_code == 404
    assert client.delete("/api/devices/shelf-9", headers=admin).status_code == 404
    trail = client.get("/api/audit", headers=admin, params={"entity": "device"}).json()["items"]
    assert [e["action"] for e in trail if e["entity_id"] == "shelf-9"][:3] == [
        "delete", "update", "create"]
