"""Loans over HTTP: lend a box, take it back, who sees which loans, what is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from server.clock import now
from server.models.loans import Loan
from tests.conftest import PASSWORD
from tests.integration.tree import build_tree


def _shelved_box(client, admin, staff, slot: str, *, classification: str = "internal") -> str:
    code = client.post("/api/boxes", headers=admin, json={"home": slot}).json()["code"]
    assert client.post(f"/api/boxes/{code}/move", headers=staff, json={"to": slot}).status_code == 200
    made = client.post("/api/records", headers=admin, json={
        "reference_code": f"WS·2024·Y·{code[-4:]}", "title": "会计凭证 ledger",
        "classification": classification, "box": code})
    assert made.status_code == 201, made.text
    return code


def test_lend_and_take_back_a_box(client, auth):
    admin, staff = auth("admin"), auth("staff")
    borrower = auth("borrower", "internal")
    codes = build_tree(client, admin)
    box = _shelved_box(client, admin, staff, codes["Slot 1"])
    due = (now().date() + timedelta(days=14)).isoformat()

    lent = client.post(f"/api/boxes/{box}/loan", headers=staff,
                       json={"borrower": "borrower-internal", "due_on": due, "purpose": "审计核查"})
    assert lent.status_code == 201, lent.text
    loan = lent.json()
    assert loan["box"] == box and loan["borrower"] == "borrower-internal"
    assert loan["taken_from"] == codes["Slot 1"] and loan["overdue"] is False
    assert loan["lent_by"] == "staff-default" and loan["returned_at"] is None
    shown = client.get(f"/api/boxes/{box}", headers=staff).json()
    assert shown["status"] == "on_loan" and shown["location"] is None
    moves = client.get(f"/api/boxes/{box}/movements", headers=staff).json()["items"]
    assert moves[0]["reason"] == "loan" and moves[0]["to_location"] is None

    # the box's page says who has it until when
    signed = client.post("/signin", data={"username": "staff-default", "password": PASSWORD},
                         headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert signed.status_code == 303
    assert f"On loan to borrower-internal, due back {due}" in client.get(f"/boxes/{box}").text

    # the borrower sees the loan; another borrower does not
    assert [x["id"] for x in client.get("/api/loans", headers=borrower).json()["items"]] == [loan["id"]]
    other = auth("borrower", "secret")
    assert client.get("/api/loans", headers=other).json()["total"] == 0
    assert client.get(f"/api/loans/{loan['id']}", headers=other).status_code == 404
    assert client.get("/api/loans", headers=staff, params={"state": "open"}).json()["total"] == 1

    again = client.post(f"/api/boxes/{box}/loan", headers=staff,
                        json={"borrower": "borrower-secret", "due_on": due})
    assert again.status_code == 409
    assert "already on loan to borrower-internal" in again.json()["detail"]

    back = client.post(f"/api/boxes/{box}/return", headers=staff, json={"to": codes["Slot 2"]})
    assert back.status_code == 200, back.text
    assert back.json()["returned_by"] == "staff-default" and back.json()["returned_at"]
    shown = client.get(f"/api/boxes/{box}", headers=staff).json()
    assert shown["status"] == "on_shelf" and shown["location"] == codes["Slot 2"]
    assert client.post(f"/api/boxes/{box}/return", headers=staff).status_code == 409
    assert client.get("/api/loans", headers=staff, params={"state": "returned"}).json()["total"] == 1

    entries = client.get("/api/audit", headers=admin, params={"entity": "box", "entity_id": box})
    actions = [e["action"] for e in entries.json()["items"]]
    assert "lend" in actions and "return" in actions


def test_a_return_without_a_place_leaves_the_box_in_transit(client, auth):
    admin, staff = auth("admin"), auth("staff")
    auth("borrower", "internal")
    codes = build_tree(client, admin)
    box = _shelved_box(client, admin, staff, codes["Slot 1"])
    due = now().date().isoformat()
    assert client.post(f"/api/boxes/{box}/loan", headers=staff,
                       json={"borrower": "borrower-internal", "due_on": due}).status_code == 201
    assert client.post(f"/api/boxes/{box}/return", headers=staff).status_code == 200
    assert client.get(f"/api/boxes/{box}", headers=staff).json()["status"] == "in_transit"


def test_what_a_loan_refuses(client, auth):
    admin, staff = auth("admin"), auth("staff")
    auth("borrower", "public")
    codes = build_tree(client, admin)
    box = _shelved_box(client, admin, staff, codes["Slot 1"], classification="confidential")
    due = (now().date() + timedelta(days=7)).isoformat()

    def lend(body, headers=staff):
        return client.post(f"/api/boxes/{box}/loan", headers=headers, json=body)

    stranger = lend({"borrower": "nobody", "due_on": due})
    assert stranger.status_code == 422 and stranger.json()["field"] == "borrower"
    past = lend({"borrower": "borrower-public",
                 "due_on": (now().date() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and past.json()["field"] == "due_on"
    cleared = lend({"borrower": "borrower-public", "due_on": due})
    assert cleared.status_code == 422
    assert "confidential" in cleared.json()["detail"] and "public" in cleared.json()["detail"]
    assert lend({"borrower": "borrower-public", "due_on": "someday"}).status_code == 422
    assert lend({"borrower": "borrower-public", "due_on": due, "extra": 1}).status_code == 422
    assert lend({"borrower": "borrower-public", "due_on": due},
                headers=auth("borrower", "secret")).status_code == 403
    assert client.post(f"/api/boxes/{box}/loan", json={}).status_code == 401
    assert client.post("/api/boxes/B09999999/loan", headers=staff,
                       json={"borrower": "borrower-public", "due_on": due}).status_code == 404
    assert client.get("/api/loans", headers=staff, params={"state": "lost"}).status_code == 422
    # nothing of the refused attempts was written
    assert client.get(f"/api/boxes/{box}", headers=staff).json()["status"] == "on_shelf"
    assert client.get("/api/loans", headers=staff).json()["total"] == 0


def test_an_overdue_loan_is_listed_as_overdue(client, auth, session):
    admin, staff = auth("admin"), auth("staff")
    auth("borrower", "internal")
    codes = build_tree(client, admin)
    box = _shelved_box(client, admin, staff, codes["Slot 1"])
    lent = client.post(f"/api/boxes/{box}/loan", headers=staff, json={
        "borrower": "borrower-internal", "due_on": now().date().isoformat()}).json()
    assert client.get("/api/loans", headers=staff, params={"state": "overdue"}).json()["total"] == 0
    loan = session.exec(select(Loan).where(Loan.id == lent["id"])).one()
    loan.due_on = now().date() - timedelta(days=3)  # three days later, in effect
    session.add(loan)
    session.commit()
    overdue = client.get("/api/loans", headers=staff, params={"state": "overdue"}).json()
    assert [x["box"] for x in overdue["items"]] == [box] and overdue["items"][0]["overdue"] is True


def _sign_in_page(client, username: str) -> None:
    client.cookies.clear()
    signed = client.post("/signin", data={"username": username, "password": PASSWORD},
                         headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert signed.status_code == 303


def test_staff_lend_and_take_back_from_the_box_page_and_borrowers_see_their_loans(client, auth):
    admin, staff = auth("admin"), auth("staff")
    auth("borrower", "internal")
    codes = build_tree(client, admin)
    box = _shelved_box(client, admin, staff, codes["Slot 1"])
    due = (now().date() + timedelta(days=10)).isoformat()
    origin = {"Origin": "http://testserver"}

    _sign_in_page(client, "staff-default")
    assert 'id="lend-form"' in client.get(f"/boxes/{box}").text
    nobody = client.post(f"/boxes/{box}/loan", headers=origin,
                         data={"borrower": "nobody", "due_on": due})
    assert nobody.status_code == 422 and "Nobody signs in as nobody" in nobody.text
    # the error sits by the form, what was typed stays, and it names no command line
    assert 'id="lend-error"' in nobody.text and 'value="nobody"' in nobody.text
    assert f'value="{due}"' in nobody.text and "archive-twin users" not in nobody.text
    garbled = client.post(f"/boxes/{box}/loan", headers=origin,
                          data={"borrower": "borrower-internal", "due_on": "next week"})
    assert garbled.status_code == 422 and "YYYY-MM-DD" in garbled.text
    lent = client.post(f"/boxes/{box}/loan", headers=origin,
                       data={"borrower": "borrower-internal", "due_on": due, "purpose": "审计核查"})
    assert lent.status_code == 200 and f"Lent to borrower-internal, due back {due}" in lent.text
    assert 'id="return-box"' in lent.text and 'id="lend-form"' not in lent.text
    listed = client.get("/loans").text
    assert box in listed and "borrower-internal" in listed and "审计核查" in listed

    _sign_in_page(client, "borrower-internal")
    mine = client.get("/loans?lang=zh")
    assert box in mine.text and "借阅" in mine.text
    assert client.post(f"/boxes/{box}/return", headers=origin).status_code == 403

    _sign_in_page(client, "staff-default")
    back = client.post(f"/boxes/{box}/return", headers=origin)
    assert back.status_code == 200 and "Taken back" in back.text
    assert client.get(f"/api/boxes/{box}", headers=staff).json()["status"] == "in_transit"
    assert box not in client.get("/loans?state=open").text
    assert box in client.get("/loans?state=returned").text
