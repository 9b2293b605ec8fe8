"""The API says `detail` in the language of the request's Accept-Language (English by default)."""

from __future__ import annotations

from tests.integration.tree import build_tree


def test_unknown_box_is_said_in_chinese_for_a_chinese_caller(client, auth):
    staff = auth("staff")
    chinese = client.get("/api/boxes/NOPE", headers={**staff, "Accept-Language": "zh-CN"})
    assert chinese.status_code == 404
    assert chinese.json()["detail"] == "没有编码为 NOPE 的档案盒"
    english = client.get("/api/boxes/NOPE", headers=staff)
    assert english.status_code == 404
    assert english.json() == {"detail": "no box has the code NOPE", "field": None}


def test_a_full_slot_keeps_its_field_and_names_the_boxes_in_chinese(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    boxes = [client.post("/api/boxes", headers=admin, json={}).json()["code"] for _ in range(3)]
    for code in boxes[:2]:
        client.post(f"/api/boxes/{code}/move", headers=admin, json={"to": codes["Slot 1"]})
    full = client.post(f"/api/boxes/{boxes[2]}/move", json={"to": codes["Slot 1"]},
                       headers={**admin, "Accept-Language": "zh-Hans, en;q=0.5"})
    assert full.status_code == 409
    body = full.json()
    assert "已满" in body["detail"] and boxes[0] in body["detail"]
    assert body["field"] == "to"
