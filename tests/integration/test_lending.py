"""Lending by request over HTTP: every step of the state machine, every refusal, the pick
list, check-out and return, renewals, holds and where a box is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from server.clock import now
from server.models.audit import AuditEntry
from server.models.news import OutboxEntry
from tests.integration.tree import build_tree


@pytest.fixture
def archive(client, auth):
    """A tree, two shelved boxes with records, a borrower, an archivist and staff."""
    admin, staff, archivist = auth("admin"), auth("staff"), auth("archivist")
    borrower = auth("borrower", "internal")
    codes = build_tree(client, admin)
    made = {}
    for n, (slot, classification) in enumerate(
            (("Slot 1", "internal"), ("Slot 2", "internal"), ("Slot 2", "secret")), 1):
        box = client.post("/api/boxes", headers=admin, json={"home": codes[slot]}).json()["code"]
        assert client.post(f"/api/boxes/{box}/move", headers=staff,
                           json={"to": codes[slot]}).status_code == 200
        ref = f"WS·2024·Y·{n:04d}"
        answer = client.post("/api/records", headers=admin, json={
            "reference_code": ref, "title": f"会计凭证 第{n}册", "classification": classification,
            "box": box})
        assert answer.status_code == 201, answer.text
        made[n] = (box, ref)
    return {"admin": admin, "staff": staff, "archivist": archivist, "borrower": borrower,
            "codes": codes, "boxes": made}


def _submit(client, a, **body):
    body.setdefault("purpose", "审计核查 audit")
    return client.post("/api/requests", headers=a["borrower"], json=body)


def _approved(client, a, n=1, mode="take_away"):
    made = _submit(client, a, records=[a["boxes"][n][1]], mode=mode)
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 200, answer.text
    return rid


def test_a_record_asks_for_its_box_and_the_borrower_sees_only_their_own(client, auth, archive):
    a = archive
    box, ref = a["boxes"][1]
    made = _submit(client, a, records=[ref], mode="reading_room", wanted_on=now().date().isoformat())
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "submitted" and body["borrower"] == "borrower-internal"
    assert body["boxes"] == [box] and body["records"] == [ref] and body["mode"] == "reading_room"

    other = auth("borrower", "confidential")
    assert client.get(f"/api/requests/{body['id']}", headers=other).status_code == 404
    assert client.get("/api/requests", headers=other).json()["total"] == 0
    assert client.get("/api/requests", headers=a["borrower"]).json()["total"] == 1
    assert client.get("/api/requests", headers=a["staff"],
                      params={"state": "submitted"}).json()["total"] == 1


def test_records_above_clearance_do_not_exist_and_empty_requests_are_refused(client, archive):
    a = archive
    secret_ref = a["boxes"][3][1]
    hidden = _submit(client, a, records=[secret_ref])
    assert hidden.status_code == 404
    assert "no record with the reference code" in hidden.json()["detail"]
    # the whole box that holds it cannot be asked for either
    whole = _submit(client, a, boxes=[a["boxes"][3][0]])
    assert whole.status_code == 409 and "above borrower-internal's clearance" in whole.json()["detail"]
    assert _submit(client, a).status_code == 422
    assert _submit(client, a, boxes=["B99999999"]).status_code == 404


def test_every_transition_and_every_illegal_step(client, archive, db):
    a = archive
    box = a["boxes"][1][0]
    rid = _submit(client, a, boxes=[box], mode="take_away").json()["id"]
    approved = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert approved.json()["due_on"] == (now().date() + timedelta(days=14)).isoformat()
    # approved cannot be refused or approved again; the answer names the state
    for verb, body in (("refuse", {"reason": "late"}), ("approve", {})):
        answer = client.post(f"/api/requests/{rid}/{verb}", headers=a["archivist"], json=body)
        assert answer.status_code == 409
        assert answer.json()["detail"].startswith(f"request {rid} is approved")
    out = client.post(f"/api/boxes/{box}/checkout", headers=a["staff"], json={"request": rid})
    assert out.status_code == 201, out.text
    loan = out.json()
    assert loan["box"] == box and loan["borrower"] == "borrower-internal"
    assert loan["request"] == rid and loan["due_on"] == approved.json()["due_on"]
    assert client.get(f"/api/boxes/{box}", headers=a["staff"]).json()["status"] == "on_loan"
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "checked_out"
    cancel = client.post(f"/api/requests/{rid}/cancel", headers=a["borrower"])
    assert cancel.status_code == 409 and "is checked_out" in cancel.json()["detail"]

    back = client.post(f"/api/boxes/{box}/return", headers=a["staff"], json={})
    assert back.status_code == 200
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "returned"
    assert client.get(f"/api/boxes/{box}", headers=a["staff"]).json()["status"] == "in_transit"
    for verb in ("approve", "cancel"):
        answer = client.post(f"/api/requests/{rid}/{verb}", headers=a["archivist"], json={})
        assert answer.status_code == 409 and f"request {rid} is returned" in answer.json()["detail"]

    refused_id = _submit(client, a, boxes=[box]).json()["id"]
    refused = client.post(f"/api/requests/{refused_id}/refuse", headers=a["archivist"],
                          json={"reason": "该盒正在修复 being repaired"})
    assert refused.status_code == 200
    assert refused.json()["state"] == "refused" and refused.json()["reason"] == "该盒正在修复 being repaired"
    again = client.post(f"/api/boxes/{box}/checkout", headers=a["staff"], json={"request": refused_id})
    assert again.status_code == 409 and "is refused, not approved" in again.json()["detail"]

    cancelled_id = _submit(client, a, boxes=[box]).json()["id"]
    cancelled = client.post(f"/api/requests/{cancelled_id}/cancel", headers=a["borrower"])
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"

    with Session(db) as s:
        steps = [e.action for e in s.exec(select(AuditEntry).where(AuditEntry.entity == "request")
                                           .order_by(AuditEntry.id))]
        told = [o.data["state"] for o in s.exec(select(OutboxEntry).where(
            OutboxEntry.kind == "request").order_by(OutboxEntry.id))]
    assert steps == ["request_submitted", "request_approved", "request_checked_out",
                     "request_returned", "request_submitted", "request_refused",
                     "request_submitted", "request_cancelled"]
    assert told == ["submitted", "approved", "checked_out", "returned", "submitted", "refused",
                    "submitted", "cancelled"]


def test_only_the_borrower_or_staff_cancel_and_borrowers_do_not_decide(client, auth, archive):
    a = archive
    rid = _submit(client, a, boxes=[a["boxes"][1][0]]).json()["id"]
    other = auth("borrower", "public")
    assert client.post(f"/api/requests/{rid}/cancel", headers=other).status_code == 404
    assert client.post(f"/api/requests/{rid}/approve", headers=a["borrower"], json={}).status_code == 403
    assert client.post(f"/api/requests/{rid}/approve", headers=a["staff"], json={}).status_code == 403
    assert client.post(f"/api/requests/{rid}/cancel", headers=a["staff"]).json()["state"] == "cancelled"


def test_approval_checks_the_rules_again(client, archive, db):
    a = archive
    box = a["boxes"][1][0]
    # out on a desk loan meanwhile
    rid = _submit(client, a, boxes=[box]).json()["id"]
    due = (now().date() + timedelta(days=3)).isoformat()
    assert client.post(f"/api/boxes/{box}/loan", headers=a["staff"],
                       json={"borrower": "borrower-internal", "due_on": due}).status_code == 201
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 409 and f"box {box} is out on loan, due back {due}" in answer.json()["detail"]
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "submitted"
    client.post(f"/api/boxes/{box}/return", headers=a["staff"], json={"to": a["codes"]["Slot 1"]})
    # held for disposal
    held = client.post(f"/api/boxes/{box}/disposal-hold", headers=a["archivist"],
                       json={"reason": "销毁鉴定 appraisal"})
    assert held.status_code == 201
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 409 and "on hold for disposal (销毁鉴定 appraisal)" in answer.json()["detail"]
    assert client.delete(f"/api/boxes/{box}/disposal-hold", headers=a["archivist"]).status_code == 204
    # a record of the box raised above the borrower's clearance
    ref = a["boxes"][1][1]
    assert client.patch(f"/api/records/{ref}", headers=a["admin"],
                        json={"classification": "secret"}).status_code == 200
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 409 and "clearance" in answer.json()["detail"]
    assert client.patch(f"/api/records/{ref}", headers=a["admin"],
                        json={"classification": "internal"}).status_code == 200
    # missing
    from server.models.holdings import Box
    with Session(db) as s:
        row = s.exec(select(Box).where(Box.code == box)).one()
        row.status = "missing"
        s.commit()
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 409 and f"box {box} is missing" in answer.json()["detail"]
    with Session(db) as s:
        row = s.exec(select(Box).where(Box.code == box)).one()
        row.status = "disposed"
        s.commit()
    answer = client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert answer.status_code == 409 and "disposed" in answer.json()["detail"]
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "submitted"


def test_pick_list_in_walking_order_with_lights_and_being_retrieved(client, archive):
    a = archive
    box1, box2 = a["boxes"][1][0], a["boxes"][2][0]
    # box2 (Slot 2) asked first, box1 (Slot 1) second: the walk takes Slot 1 first
    r2 = client.post("/api/requests", headers=a["admin"],
                     json={"boxes": [box2], "purpose": "x"}).json()["id"]
    client.post(f"/api/requests/{r2}/approve", headers=a["archivist"], json={})
    r1 = _approved(client, a, 1)
    listed = client.get("/api/picklist", headers=a["staff"]).json()
    assert [i["box"] for i in listed["items"]] == [box1, box2] and listed["total"] == 2
    first = listed["items"][0]
    assert first["request"] == r1 and first["location"] == a["codes"]["Slot 1"]
    assert first["path"].endswith("Slot 1") and first["light"]["on"] is True
    assert first["light"]["location"] == a["codes"]["Slot 1"]
    assert client.get("/api/picklist", headers=a["borrower"]).status_code == 403

    picked = client.post(f"/api/boxes/{box1}/pick", headers=a["staff"], json={})
    assert picked.status_code == 200
    where = client.get(f"/api/whereis/{a['boxes'][1][1]}", headers=a["borrower"]).json()
    assert where["status"] == "being_retrieved" and where["box"] == box1 and where["kind"] == "record"
    pdf = client.get("/api/picklist.pdf", headers=a["staff"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # checked out, it leaves the list
    assert client.post(f"/api/boxes/{box1}/checkout", headers=a["staff"],
                       json={"request": r1}).status_code == 201
    assert [i["box"] for i in client.get("/api/picklist", headers=a["staff"]).json()["items"]] == [box2]


def test_checkout_needs_an_approved_request_for_that_box(client, archive):
    a = archive
    box1, box2 = a["boxes"][1][0], a["boxes"][2][0]
    rid = _submit(client, a, boxes=[box1]).json()["id"]
    answer = client.post(f"/api/boxes/{box1}/checkout", headers=a["staff"], json={"request": rid})
    assert answer.status_code == 409
    assert answer.json()["detail"] == f"request {rid} is submitted, not approved: box {box1} cannot go out on it"
    client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    wrong = client.post(f"/api/boxes/{box2}/checkout", headers=a["staff"], json={"request": rid})
    assert wrong.status_code == 409 and "does not ask for box" in wrong.json()["detail"]
    assert client.post(f"/api/boxes/{box1}/checkout", headers=a["borrower"],
                       json={"request": rid}).status_code == 403


def test_reading_room_loans_are_due_the_same_day(client, archive):
    a = archive
    rid = _approved(client, a, 1, mode="reading_room")
    loan = client.post(f"/api/boxes/{a['boxes'][1][0]}/checkout", headers=a["staff"],
                       json={"request": rid}).json()
    assert loan["due_on"] == now().date().isoformat()


def test_renewals_and_holds(client, auth, archive, db):
    a = archive
    box, ref = a["boxes"][1]
    rid = _approved(client, a, 1)
    loan = client.post(f"/api/boxes/{box}/checkout", headers=a["staff"], json={"request": rid}).json()
    renewed = client.post(f"/api/loans/{loan['id']}/renew", headers=a["borrower"], json={})
    assert renewed.status_code == 200
    assert renewed.json()["due_on"] == (now().date() + timedelta(days=28)).isoformat()
    limit = client.post(f"/api/loans/{loan['id']}/renew", headers=a["borrower"], json={})
    assert limit.status_code == 409 and "the limit is 1" in limit.json()["detail"]

    # two others queue: positions 1 and 2; the borrower sees only their own hold
    one, two = auth("borrower", "confidential"), auth("borrower", "secret")
    h1 = client.post("/api/holds", headers=one, json={"record": ref})
    h2 = client.post("/api/holds", headers=two, json={"box": box})
    assert h1.status_code == 201 and h1.json()["position"] == 1 and h1.json()["box"] == box
    assert h2.json()["position"] == 2
    assert client.post("/api/holds", headers=two, json={"box": box}).status_code == 409
    assert [h["id"] for h in client.get("/api/holds", headers=two).json()["items"]] == [h2.json()["id"]]
    assert client.get("/api/holds", headers=a["staff"]).json()["total"] == 2
    where = client.get(f"/api/whereis/{box}", headers=two).json()
    assert where == {**where, "code": box, "kind": "box", "status": "on_loan", "path": None,
                     "due_on": renewed.json()["due_on"], "queue_position": 2}
    assert where["last_moved_at"] is not None

    # a desk loan with a hold on the box cannot be renewed
    with Session(db) as s:
        from server.models.loans import Loan
        row = s.get(Loan, loan["id"])
        row.renewals = 0
        s.commit()
    held = client.post(f"/api/loans/{loan['id']}/renew", headers=a["borrower"], json={})
    assert held.status_code == 409 and "2 borrower(s) hold this box" in held.json()["detail"]

    # leaving the queue moves the second up; the box back tells the first in line
    assert client.delete(f"/api/holds/{h1.json()['id']}", headers=one).status_code == 204
    assert client.get("/api/holds", headers=two).json()["items"][0]["position"] == 1
    assert client.post(f"/api/boxes/{box}/return", headers=a["staff"], json={}).status_code == 200
    mine = client.get("/api/holds", headers=two).json()["items"][0]
    assert mine["ready_at"] is not None
    with Session(db) as s:
        ready = [o.data for o in s.exec(select(OutboxEntry).where(OutboxEntry.kind == "hold"))]
        lit = [o.data for o in s.exec(select(OutboxEntry).where(OutboxEntry.kind == "light"))]
    assert ready == [{**ready[0], "box": box, "borrower": "borrower-secret"}]
    assert lit[-1]["location"] == a["codes"]["Slot 1"] and lit[-1]["on"] is True  # home lights up
    assert client.delete(f"/api/holds/{h2.json()['id']}", headers=one).status_code == 404


def test_where_is_hides_records_above_clearance(client, archive):
    a = archive
    assert client.get(f"/api/whereis/{a['boxes'][3][1]}", headers=a["borrower"]).status_code == 404
    shown = client.get(f"/api/whereis/{a['boxes'][1][0]}", headers=a["borrower"]).json()
    assert shown["status"] == "on_shelf" and shown["path"].endswith("Slot 1")
    assert shown["due_on"] is None and shown["queue_position"] is None


def _scan(client, a, code, mode, target=None):
    answer = client.post("/api/scan", headers=a["staff"],
                         json={"code": code, "mode": mode, "target": target})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_shelving_a_lent_box_returns_it_first_no_ghost_loan(client, archive):
    """The ghost loan: lend a box, then on Shelve scan a location and the box."""
    a = archive
    box = a["boxes"][1][0]
    slot2 = a["codes"]["Slot 1"]  # its home, empty while it is out
    due = (now().date() + timedelta(days=7)).isoformat()
    lent = client.post(f"/api/boxes/{box}/loan", headers=a["staff"],
                       json={"borrower": "borrower-internal", "due_on": due}).json()
    assert _scan(client, a, slot2, "shelve")["action"] == "target"
    shelved = _scan(client, a, box, "shelve", target=slot2)
    assert shelved["ok"] is True and shelved["action"] == "returned_and_shelved"
    assert "was on loan to borrower-internal: returned, and shelved in" in shelved["message"]
    shown = client.get(f"/api/boxes/{box}", headers=a["staff"]).json()
    assert shown["status"] == "on_shelf" and shown["location"] == slot2
    loan = client.get(f"/api/loans/{lent['id']}", headers=a["staff"]).json()
    assert loan["returned_at"] is not None and loan["returned_by"] == "staff-default"
    assert client.get("/api/loans", headers=a["staff"], params={"state": "open"}).json()["total"] == 0


def test_scan_modes_pick_check_out_and_return(client, archive):
    a = archive
    box, ref = a["boxes"][1]
    refused = _scan(client, a, box, "checkout")
    assert refused["action"] == "refused" and refused["reason"] == "no_request"
    rid = _approved(client, a, 1)
    assert _scan(client, a, a["codes"]["Slot 1"], "pick")["reason"] == "not_a_box"
    assert _scan(client, a, ref, "pick")["reason"] == "record"
    picked = _scan(client, a, box, "pick")
    assert picked["action"] == "picked" and f"request {rid}" in picked["message"]
    assert client.get(f"/api/boxes/{box}", headers=a["staff"]).json()["status"] == "being_retrieved"
    out = _scan(client, a, box, "checkout")
    assert out["action"] == "checked_out" and "checked out to borrower-internal" in out["message"]
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "checked_out"
    back = _scan(client, a, box, "return")
    assert back["action"] == "returned" and back["location_path"].endswith("Slot 1")
    assert client.get(f"/api/boxes/{box}", headers=a["staff"]).json()["status"] == "in_transit"
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "returned"
    assert _scan(client, a, box, "return")["reason"] == "not_on_loan"
