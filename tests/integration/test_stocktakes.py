"""Stocktakes over the API: counting a subtree by scans, the position-aware result, applying it."""

from __future__ import annotations

import csv
import io
import time

import pypdfium2
from sqlmodel import Session, select

from server.models.news import OutboxEntry
from tests.conftest import PASSWORD
from tests.integration.tree import build_tree


def _location(client, headers, name, kind, parent, capacity=None) -> str:
    answer = client.post("/api/locations", headers=headers,
                         json={"name": name, "kind": kind, "parent": parent, "capacity": capacity})
    assert answer.status_code == 201, answer.text
    return answer.json()["code"]


def _box(client, headers, *, at=None, home=None) -> str:
    code = client.post("/api/boxes", headers=headers, json={"home": home}).json()["code"]
    if at:
        moved = client.post(f"/api/boxes/{code}/move", headers=headers, json={"to": at})
        assert moved.status_code == 200, moved.text
    return code


def _archive(client, auth):
    """Shelf 4 (Slot 1, Slot 2) and beside it Shelf 5 (Slot 3), in one section."""
    admin = auth("admin")
    codes = build_tree(client, admin, slot_capacity=10)
    codes["Shelf 5"] = _location(client, admin, "Shelf 5", "shelf", codes["section"])
    codes["Slot 3"] = _location(client, admin, "Slot 3", "slot", codes["Shelf 5"], 10)
    return admin, codes


def test_a_shelf_stocktake_by_scans_says_what_was_found_where(client, auth, db):
    admin, codes = _archive(client, auth)
    staff = auth("staff")
    auth("borrower")
    in_place = _box(client, admin, at=codes["Slot 1"])
    slot_at_shelf = _box(client, admin, at=codes["Slot 2"])
    misplaced = _box(client, admin, at=codes["Slot 1"])
    missing = _box(client, admin, at=codes["Slot 2"])
    from_next_shelf = _box(client, admin, at=codes["Slot 3"])
    in_transit = _box(client, admin)
    outside_unseen = _box(client, admin, at=codes["Slot 3"])
    lent = _box(client, admin, at=codes["Slot 1"], home=codes["Slot 1"])
    loan = client.post(f"/api/boxes/{lent}/loan", headers=admin, json={
        "borrower": "borrower-default", "due_on": time.strftime("%Y-%m-%d", time.gmtime())})
    assert loan.status_code == 201, loan.text

    started = client.post("/api/stocktakes", headers=staff, json={"scope": codes["shelf"]})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["state"] == "open" and body["scope"] == codes["shelf"]
    assert body["expected"] == 4  # the lent box is out; Shelf 5 is outside the scope
    sid = body["id"]

    counted = client.post(f"/api/stocktakes/{sid}/scans", headers=staff, json={"codes": [
        codes["Slot 1"], in_place, from_next_shelf, in_transit, in_place,
        codes["Slot 2"], misplaced,
        codes["shelf"], slot_at_shelf,
    ]})
    assert counted.status_code == 200, counted.text
    assert counted.json() == {"seen": 5, "duplicates": 1, "seen_total": 5, "duplicates_total": 1}

    again = client.post(f"/api/stocktakes/{sid}/scans", headers=staff,
                        json={"codes": [codes["Slot 1"], misplaced]})
    assert again.json()["seen"] == 0 and again.json()["duplicates"] == 1

    result = client.get(f"/api/stocktakes/{sid}", headers=staff).json()
    assert result["state"] == "open"
    assert result["found"] == sorted([in_place, slot_at_shelf])
    assert [(m["box"], m["expected"], m["seen"]) for m in result["misplaced"]] == [
        (misplaced, codes["Slot 1"], codes["Slot 2"])]
    assert result["missing"] == [missing]
    assert sorted((u["box"], u["expected"], u["seen"]) for u in result["unexpected"]) == sorted([
        (from_next_shelf, codes["Slot 3"], codes["Slot 1"]), (in_transit, None, codes["Slot 1"])])
    assert result["on_loan"] == [lent]
    assert result["duplicates"] == sorted([in_place, misplaced])
    assert outside_unseen not in result["missing"]  # a partial stocktake: Shelf 5 is not counted

    # counting moved nothing
    assert client.get(f"/api/boxes/{misplaced}", headers=staff).json()["location"] == codes["Slot 1"]
    assert client.get(f"/api/boxes/{in_transit}", headers=staff).json()["status"] == "in_transit"

    report = client.get(f"/api/stocktakes/{sid}/report.csv", headers=staff)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert {(r["group"], r["box"]) for r in rows} >= {("missing", missing), ("found", in_place),
                                                     ("on_loan", lent)}
    assert [r["seen"] for r in rows if r["box"] == misplaced and r["group"] == "misplaced"] == [
        codes["Slot 2"]]

    with Session(db) as s:
        before = max(s.exec(select(OutboxEntry.id)).all())
    applied = client.post(f"/api/stocktakes/{sid}/apply", headers=staff)
    assert applied.status_code == 200, applied.text
    assert applied.json()["state"] == "applied"
    assert applied.json()["moved"] == 3 and applied.json()["marked_missing"] == 1

    assert client.get(f"/api/boxes/{misplaced}", headers=staff).json()["location"] == codes["Slot 2"]
    assert client.get(f"/api/boxes/{in_transit}", headers=staff).json()["status"] == "on_shelf"
    assert client.get(f"/api/boxes/{missing}", headers=staff).json()["status"] == "missing"
    assert client.get(f"/api/boxes/{outside_unseen}", headers=staff).json()["status"] == "on_shelf"
    assert client.get(f"/api/boxes/{lent}", headers=staff).json()["status"] == "on_loan"
    moves = client.get(f"/api/boxes/{from_next_shelf}/movements", headers=staff).json()["items"]
    assert moves[0]["reason"] == "stocktake" and moves[0]["to_location"] == codes["Slot 1"]
    assert moves[0]["by_user"] == "staff-default"

    # every change is announced through the outbox
    with Session(db) as s:
        news = [row.data for row in s.exec(
            select(OutboxEntry).where(OutboxEntry.id > before, OutboxEntry.kind == "box"))]
    announced = {(n["code"], n["status"], n["reason"]) for n in news}
    assert (misplaced, "on_shelf", "stocktake") in announced
    assert (missing, "missing", "stocktake") in announced
    alarms = client.get("/api/alarms", headers=admin, params={"state": "active"}).json()
    assert [a["subject"] for a in alarms["items"] if a["kind"] == "box_missing"] == [missing]

    # the result is kept as it was when applied
    kept = client.get(f"/api/stocktakes/{sid}", headers=staff).json()
    assert kept["state"] == "applied" and kept["missing"] == [missing]
    assert [m["box"] for m in kept["misplaced"]] == [misplaced]

    # an applied stocktake takes nothing more
    late = client.post(f"/api/stocktakes/{sid}/scans", headers=staff, json={"codes": [in_place]})
    assert late.status_code == 409 and "applied" in late.json()["detail"]
    assert client.post(f"/api/stocktakes/{sid}/apply", headers=staff).status_code == 409
    assert client.post(f"/api/stocktakes/{sid}/cancel", headers=staff).status_code == 409

    audit = client.get("/api/audit", headers=admin, params={"entity": "stocktake"})
    assert {e["action"] for e in audit.json()["items"]} == {"start", "apply"}
    marked = client.get("/api/audit", headers=admin, params={"entity": "box", "entity_id": missing})
    assert "mark_missing" in {e["action"] for e in marked.json()["items"]}


def test_a_missing_box_seen_again_is_found_and_its_alarm_cleared(client, auth):
    admin, codes = _archive(client, auth)
    first = _box(client, admin, at=codes["Slot 1"])
    sid = client.post("/api/stocktakes", headers=admin, json={"scope": codes["Slot 1"]}).json()["id"]
    assert client.post(f"/api/stocktakes/{sid}/apply", headers=admin).json()["marked_missing"] == 1
    assert client.get(f"/api/boxes/{first}", headers=admin).json()["status"] == "missing"

    sid = client.post("/api/stocktakes", headers=admin, json={"scope": codes["room"]}).json()["id"]
    assert client.post(f"/api/stocktakes/{sid}/scans", headers=admin,
                       json={"codes": [codes["Slot 1"], first]}).json()["seen"] == 1
    shown = client.get(f"/api/stocktakes/{sid}", headers=admin).json()
    assert shown["found"] == [first] and shown["missing"] == []
    done = client.post(f"/api/stocktakes/{sid}/apply", headers=admin).json()
    assert done["found_again"] == 1 and done["moved"] == 0
    assert client.get(f"/api/boxes/{first}", headers=admin).json()["status"] == "on_shelf"
    active = client.get("/api/alarms", headers=admin, params={"state": "active"}).json()
    assert active["total"] == 0


def test_refusals_are_clear_and_change_nothing(client, auth):
    admin, codes = _archive(client, auth)
    staff = auth("staff")
    box = _box(client, admin, at=codes["Slot 1"])
    outside = _box(client, admin, at=codes["Slot 3"])

    nowhere = client.post("/api/stocktakes", headers=staff, json={"scope": "L99999999"})
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "scope"
    stranger = client.post("/api/stocktakes", headers=staff,
                           json={"scope": codes["shelf"], "device": "nobody"})
    assert stranger.status_code == 422 and stranger.json()["field"] == "device"
    assert client.post("/api/devices", headers=admin, json={
        "id": "shelf-9", "type": "reader", "role": "shelf",
        "antennas": {"1": codes["Slot 1"]}}).status_code == 201
    shelf_reader = client.post("/api/stocktakes", headers=staff,
                               json={"scope": codes["shelf"], "device": "shelf-9"})
    assert shelf_reader.status_code == 422 and "handheld" in shelf_reader.json()["detail"]
    assert client.post("/api/devices", headers=admin,
                       json={"id": "hand-1", "type": "scanner"}).status_code == 201
    first = client.post("/api/stocktakes", headers=staff,
                        json={"scope": codes["shelf"], "device": "hand-1"})
    assert first.status_code == 201
    busy = client.post("/api/stocktakes", headers=staff,
                       json={"scope": codes["room"], "device": "hand-1"})
    assert busy.status_code == 409 and f"stocktake {first.json()['id']}" in busy.json()["detail"]

    sid = first.json()["id"]
    assert client.get("/api/stocktakes/999999", headers=staff).status_code == 404
    assert client.post("/api/stocktakes/999999/scans", headers=staff,
                       json={"codes": [box]}).status_code == 404
    for codes_sent, words in (
        ([box, "B99999999"], "no box is registered"),
        ([codes["Slot 3"], outside], "outside this stocktake's scope"),
        ([box, "not a code!"], "codes[1]"),
    ):
        answer = client.post(f"/api/stocktakes/{sid}/scans", headers=staff,
                             json={"codes": codes_sent})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"] and answer.json()["field"] == "codes"
    assert client.get(f"/api/stocktakes/{sid}", headers=staff).json()["found"] == []

    borrower = auth("borrower")
    assert client.get(f"/api/stocktakes/{sid}", headers=borrower).status_code == 403
    assert client.post(f"/api/stocktakes/{sid}/apply", headers=borrower).status_code == 403

    cancelled = client.post(f"/api/stocktakes/{sid}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.get(f"/api/boxes/{box}", headers=staff).json()["status"] == "on_shelf"
    # the device is free again
    assert client.post("/api/stocktakes", headers=staff,
                       json={"scope": codes["room"], "device": "hand-1"}).status_code == 201


def test_scans_from_a_counting_device_move_nothing_and_count(client, auth):
    admin, codes = _archive(client, auth)
    box = _box(client, admin, at=codes["Slot 1"])
    assert client.post("/api/devices", headers=admin,
                       json={"id": "hand-2", "type": "scanner"}).status_code == 201
    sid = client.post("/api/stocktakes", headers=admin,
                      json={"scope": codes["shelf"], "device": "hand-2"}).json()["id"]
    # the handheld asks for shelve mode: while it counts a stocktake, it counts
    target = client.post("/api/scan", headers=admin,
                         json={"code": codes["Slot 2"], "device": "hand-2"}).json()
    assert target["action"] == "target" and target["mode"] == "stocktake"
    counted = client.post("/api/scan", headers=admin, json={
        "code": box, "target": codes["Slot 2"], "device": "hand-2"}).json()
    assert counted["action"] == "counted" and counted["verdict"] == "misplaced"
    assert counted["expected"] == codes["Slot 1"] and counted["stocktake"] == sid
    again = client.post("/api/scan", headers=admin, json={
        "code": box, "target": codes["Slot 2"], "device": "hand-2"}).json()
    assert again["action"] == "duplicate"
    assert client.get(f"/api/boxes/{box}", headers=admin).json()["location"] == codes["Slot 1"]
    shown = client.get(f"/api/stocktakes/{sid}", headers=admin).json()
    assert [m["box"] for m in shown["misplaced"]] == [box] and shown["duplicates"] == [box]
    # any other device still shelves
    moved = client.post("/api/scan", headers=admin,
                        json={"code": box, "target": codes["Slot 2"]}).json()
    assert moved["action"] == "moved"


def test_the_pdf_report_prints_chinese_paths(client, auth):
    admin = auth("admin")
    room = _location(client, admin, "一号库房", "room", None)
    shelf = _location(client, admin, "密集架 3", "shelf", room)
    box = _box(client, admin, at=shelf)
    sid = client.post("/api/stocktakes", headers=admin, json={"scope": room}).json()["id"]
    pdf = client.get(f"/api/stocktakes/{sid}/report.pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(pdf.content)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert "一号库房" in text and box in text and "缺失" in text


def test_the_pages_start_count_and_apply_with_a_redirect_after_each_post(client, auth):
    admin, codes = _archive(client, auth)
    box = _box(client, admin, at=codes["Slot 1"])
    auth("staff")
    origin = {"Origin": "http://testserver"}
    signed = client.post("/signin", data={"username": "staff-default", "password": PASSWORD},
                         headers=origin, follow_redirects=False)
    assert signed.status_code == 303

    refused = client.post("/stocktakes", data={"scope": "L99999999"}, headers=origin)
    assert refused.status_code == 422
    assert "no location has the code L99999999" in refused.text
    assert 'value="L99999999"' in refused.text  # the form keeps what was typed

    started = client.post("/stocktakes", data={"scope": codes["shelf"]}, headers=origin,
                          follow_redirects=False)
    assert started.status_code == 303
    page_url = started.headers["location"]
    sid = int(page_url.rsplit("/", 1)[1])
    assert "0 seen · 1 expected" in client.get(page_url).text

    bad = client.post(f"{page_url}/scans", data={"codes": f"{codes['Slot 3']}\n{box}"},
                      headers=origin)
    assert bad.status_code == 422 and "outside this stocktake" in bad.text
    counted = client.post(f"{page_url}/scans", data={"codes": f"{codes['Slot 2']}\n{box}\n{box}"},
                          headers=origin, follow_redirects=False)
    assert counted.status_code == 303
    shown = client.get(counted.headers["location"]).text
    assert "Counted: 1 new, 1 duplicates." in shown and "1 seen · 1 expected" in shown

    zh = client.get(f"{page_url}?lang=zh").text
    assert "错位" in zh and "应用盘点结果" in zh

    applied = client.post(f"{page_url}/apply", headers=origin, follow_redirects=False)
    assert applied.status_code == 303
    assert client.get(f"/api/stocktakes/{sid}", headers=admin).json()["state"] == "applied"
    assert client.get(f"/api/boxes/{box}", headers=admin).json()["location"] == codes["Slot 2"]
    again = client.post(f"{page_url}/apply", headers=origin)
    assert again.status_code == 409 and "applied" in again.text
    csv_export = client.get(f"{page_url}/report.csv")
    assert csv_export.status_code == 200 and csv_export.text.startswith("\ufeffgroup,box")
    assert client.get("/stocktakes/99999").status_code == 404
    location_page = client.get(f"/locations/{codes['shelf']}").text
    assert 'id="start-stocktake-here"' in location_page
