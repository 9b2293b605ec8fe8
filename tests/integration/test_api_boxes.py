"""Boxes over HTTP: registering, moving with capacity checked, history."""

from __future__ import annotations

import re

from tests.integration.tree import build_tree


def test_new_box_has_code_tag_and_qr_and_is_in_transit(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    answer = client.post("/api/boxes", headers=admin, json={"home": codes["Slot 1"]})
    assert answer.status_code == 201
    box = answer.json()
    assert re.fullmatch(r"B\d{8}", box["code"])
    assert re.fullmatch(r"34[0-9A-F]{22}", box["epc"])  # GIAI-96 header
    assert box["qr"] == f"http://archive.test/s/{box['code']}"
    assert box["status"] == "in_transit" and box["location"] is None
    assert box["home"] == codes["Slot 1"]
    assert box["home_path"].endswith("Shelf 4 › Slot 1")
    assert client.get(f"/api/boxes/{box['code'].lower()}", headers=admin).json() == box


def test_move_then_full_slot_is_refused_with_what_is_there(client, auth):
    admin, staff = auth("admin"), auth("staff")
    codes = build_tree(client, admin)
    boxes = [client.post("/api/boxes", headers=admin, json={}).json()["code"] for _ in range(3)]
    for code in boxes[:2]:
        moved = client.post(f"/api/boxes/{code}/move", headers=staff, json={"to": codes["Slot 1"]})
        assert moved.status_code == 200
        assert moved.json()["status"] == "on_shelf"
        assert moved.json()["location"] == codes["Slot 1"]
    full = client.post(f"/api/boxes/{boxes[2]}/move", headers=staff, json={"to": codes["Slot 1"]})
    assert full.status_code == 409
    detail = full.json()["detail"]
    assert "is full" in detail and boxes[0] in detail and boxes[1] in detail
    assert client.get(f"/api/boxes/{boxes[2]}", headers=staff).json()["location"] is None
    # moving a box within the slot it is already in does not count it twice
    again = client.post(f"/api/boxes/{boxes[0]}/move", headers=staff, json={"to": codes["Slot 1"]})
    assert again.status_code == 200
    slot = client.get(f"/api/locations/{codes['Slot 1']}", headers=staff).json()
    assert slot["boxes"] == 2


def test_movements_say_from_where_to_where_by_whom(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": codes["Slot 1"]})
    client.post(
        f"/api/boxes/{box}/move", headers=admin, json={"to": codes["Slot 2"], "reason": "scan"}
    )
    history = client.get(f"/api/boxes/{box}/movements", headers=admin).json()
    assert history["total"] == 2
    latest, first = history["items"]
    assert (first["from_location"], first["to_location"]) == (None, codes["Slot 1"])
    assert (latest["from_location"], latest["to_location"], latest["reason"]) == (
        codes["Slot 1"],
        codes["Slot 2"],
        "scan",
    )
    assert latest["by_user"] == "admin-default"
    listed = client.get("/api/boxes", headers=admin, params={"location": codes["shelf"]}).json()
    assert [b["code"] for b in listed["items"]] == [box]


def test_bad_moves_are_explained(client, auth):
    admin = auth("admin")
    build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    unknown_target = client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": "L07777777"})
    assert unknown_target.status_code == 422
    assert unknown_target.json()["field"] == "to"
    unknown_box = client.post("/api/boxes/B07777777/move", headers=admin, json={"to": "L00000001"})
    assert unknown_box.status_code == 404
    assert unknown_box.json()["detail"] == "no box has the code B07777777"
    missing_field = client.post(f"/api/boxes/{box}/move", headers=admin, json={})
    assert missing_field.status_code == 422
    assert missing_field.json()["field"] == "to"
    extra = client.post("/api/boxes", headers=admin, json={"colour": "red"})
    assert extra.status_code == 422
    unknown_home = client.post("/api/boxes", headers=admin, json={"home": "L05555555"})
    assert unknown_home.status_code == 422 and unknown_home.json()["field"] == "home"


def test_who_may_move_and_register(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    assert client.post("/api/boxes", headers=auth("staff"), json={}).status_code == 403
    assert (
        client.post(
            f"/api/boxes/{box}/move", headers=auth("borrower"), json={"to": codes["Slot 1"]}
        ).status_code
        == 403
    )
    assert client.post(f"/api/boxes/{box}/move", json={"to": codes["Slot 1"]}).status_code == 401
    assert client.get(f"/api/boxes/{box}", headers=auth("borrower")).status_code == 200


def test_an_archivist_changes_a_box_home_and_size_and_it_is_audited(client, auth):
    admin, archivist = auth("admin"), auth("archivist")
    codes = build_tree(client, admin)
    code = client.post("/api/boxes", headers=admin, json={"home": codes["Slot 1"]}).json()["code"]
    changed = client.patch(f"/api/boxes/{code}", headers=archivist,
                           json={"home": codes["Slot 2"], "size": "A4-80mm", "width_mm": 80})
    assert changed.status_code == 200, changed.text
    box = changed.json()
    assert box["home"] == codes["Slot 2"] and box["size"] == "A4-80mm" and box["width_mm"] == 80
    unknown = client.patch(f"/api/boxes/{code}", headers=archivist, json={"home": "L09999999"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "home"
    assert client.patch(f"/api/boxes/{code}", headers=archivist,
                        json={"width_mm": 0}).status_code == 422
    assert client.patch(f"/api/boxes/{code}", headers=archivist,
                        json={"status": "disposed"}).status_code == 422
    assert client.patch(f"/api/boxes/{code}", headers=auth("staff"),
                        json={"size": "x"}).status_code == 403
    assert client.patch("/api/boxes/B09999999", headers=archivist,
                        json={"size": "x"}).status_code == 404
    assert client.get(f"/api/boxes/{code}", headers=admin).json() == box  # refusals wrote nothing
    log = client.get("/api/audit", headers=admin,
                     params={"entity": "box", "entity_id": code}).json()["items"]
    update = next(e for e in log if e["action"] == "update")
    assert update["before"]["home"] == codes["Slot 1"] and update["after"]["home"] == codes["Slot 2"]
