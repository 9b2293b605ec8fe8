"""Locations over HTTP: the tree, its codes and paths, and what is refused."""

from __future__ import annotations

import re

from tests.integration.tree import build_tree


def test_tree_has_codes_paths_tags_and_qr(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    slot = client.get(f"/api/locations/{codes['Slot 2']}", headers=admin).json()
    assert re.fullmatch(r"L\d{8}", slot["code"])
    assert slot["path"] == "Room 1 › Unit 03 › A › Section 2 › Shelf 4 › Slot 2"
    assert slot["parent"] == codes["shelf"]
    assert slot["qr"] == f"http://archive.test/s/{slot['code']}"
    assert re.fullmatch(r"32[0-9A-F]{22}", slot["epc"])  # SGLN-96 header
    assert slot["capacity"] == 2 and slot["boxes"] == 0
    listed = client.get("/api/locations", headers=admin, params={"kind": "slot"}).json()
    assert listed["total"] == 2
    children = client.get("/api/locations", headers=admin, params={"parent": codes["shelf"]}).json()
    assert [c["name"] for c in children["items"]] == ["Slot 1", "Slot 2"]


def test_wrong_nesting_and_missing_parent_are_explained(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    no_parent = client.post("/api/locations", headers=admin, json={"name": "S", "kind": "shelf"})
    assert no_parent.status_code == 422
    assert "needs a parent" in no_parent.json()["detail"]
    upside_down = client.post(
        "/api/locations",
        headers=admin,
        json={"name": "U", "kind": "unit", "parent": codes["shelf"]},
    )
    assert upside_down.status_code == 422
    assert "cannot be inside a shelf" in upside_down.json()["detail"]
    room_in_room = client.post(
        "/api/locations", headers=admin, json={"name": "R", "kind": "room", "parent": codes["room"]}
    )
    assert room_in_room.status_code == 422
    unknown = client.post(
        "/api/locations", headers=admin, json={"name": "S", "kind": "slot", "parent": "L09999999"}
    )
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "no location has the code L09999999", "field": "parent"}
    bad_kind = client.post("/api/locations", headers=admin, json={"name": "X", "kind": "drawer"})
    assert bad_kind.status_code == 422
    assert bad_kind.json()["field"] == "kind"


def test_duplicate_name_under_one_parent_is_a_conflict(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    again = client.post(
        "/api/locations",
        headers=admin,
        json={"name": "Slot 1", "kind": "slot", "parent": codes["shelf"]},
    )
    assert again.status_code == 409
    assert "already has a location named 'Slot 1'" in again.json()["detail"]


def test_rename_changes_the_paths_below(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    answer = client.patch(f"/api/locations/{codes['unit']}", headers=admin, json={"name": "Unit 3"})
    assert answer.status_code == 200
    slot = client.get(f"/api/locations/{codes['Slot 1']}", headers=admin).json()
    assert slot["path"] == "Room 1 › Unit 3 › A › Section 2 › Shelf 4 › Slot 1"


def test_capacity_cannot_drop_below_what_is_there(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    for _ in range(2):
        box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
        assert (
            client.post(
                f"/api/boxes/{box}/move", headers=admin, json={"to": codes["Slot 1"]}
            ).status_code
            == 200
        )
    answer = client.patch(f"/api/locations/{codes['Slot 1']}", headers=admin, json={"capacity": 1})
    assert answer.status_code == 409
    assert "holds 2 boxes" in answer.json()["detail"]


def test_who_may_change_locations(client, auth):
    assert client.get("/api/locations").status_code == 401
    body = {"name": "Room 9", "kind": "room"}
    assert client.post("/api/locations", json=body).status_code == 401
    for role in ("staff", "borrower", "facilities"):
        answer = client.post("/api/locations", headers=auth(role), json=body)
        assert answer.status_code == 403, role
        assert "may not" in answer.json()["detail"]
    assert client.post("/api/locations", headers=auth("archivist"), json=body).status_code == 201
    assert client.get("/api/locations", headers=auth("borrower")).json()["total"] == 1


def test_a_location_cannot_lose_its_name(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    answer = client.patch(f"/api/locations/{codes['room']}", headers=admin, json={"name": None})
    assert answer.status_code == 422 and answer.json()["field"] == "name"


def test_the_space_calculator_says_what_still_fits(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    client.patch(f"/api/locations/{codes['shelf']}", headers=admin, json={"length_mm": 900})
    for width in (100, 60):
        box = client.post("/api/boxes", headers=admin, json={"width_mm": width}).json()["code"]
        client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": codes["Slot 1"]})
    shelf = client.get(f"/api/locations/{codes['shelf']}/space", headers=admin).json()
    assert (shelf["length_mm"], shelf["used_mm"], shelf["free_mm"]) == (900, 160, 740)
    assert shelf["box_width_mm"] == 80 and shelf["more_boxes_fit"] == 9
    wide = client.get(f"/api/locations/{codes['room']}/space", headers=admin,
                      params={"box_width_mm": 120}).json()
    assert wide["more_boxes_fit"] == 6 and wide["fill_pct"] == 17.8


def test_a_light_cannot_be_switched_without_devices(client, auth):
    headers = auth("staff")
    codes = build_tree(client, auth("admin"))
    answer = client.post(f"/api/locations/{codes['Slot 1']}/light", headers=headers)
    assert answer.status_code == 503
    assert "without devices" in answer.json()["detail"]
    # who may not light a shelf is told so first, broker or not
    borrower = client.post(f"/api/locations/{codes['Slot 1']}/light", headers=auth("borrower"))
    assert borrower.status_code == 403
