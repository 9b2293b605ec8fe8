"""The lending pages over HTTP: forms redirect after a post, refusals keep the values and put
the error next to its field, every page reads in English and Chinese, and the Shelve page's
lending modes (the ghost loan among them)."""

from __future__ import annotations

from datetime import timedelta

from server.clock import now
from tests.conftest import PASSWORD
from tests.integration import test_lending

archive = test_lending.archive  # the same seeded archive as the API tests

ORIGIN = {"Origin": "http://testserver"}


def _sign_in(client, username: str) -> None:
    client.cookies.clear()
    signed = client.post("/signin", data={"username": username, "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert signed.status_code == 303


def test_a_borrower_requests_from_the_record_page_and_the_archivist_approves(client, archive):
    a = archive
    box, ref = a["boxes"][1]
    _sign_in(client, "borrower-internal")
    record = client.get(f"/records/{ref}").text
    assert 'id="request-record"' in record and "/requests/new?records=" in record
    form = client.get("/requests/new", params={"records": ref}).text
    assert f'value="{ref}"' in form

    # no purpose: the form again, with what was typed and the error by the field
    refused = client.post("/requests", headers=ORIGIN, follow_redirects=False, data={
        "records": ref, "purpose": "", "wanted_on": "", "mode": "take_away"})
    assert refused.status_code == 422
    assert 'id="purpose-error"' in refused.text and f'value="{ref}"' in refused.text
    assert 'value="take_away" checked' in refused.text
    # a record the borrower may not see: not there for them, next to the records field
    hidden = client.post("/requests", headers=ORIGIN, follow_redirects=False, data={
        "records": a["boxes"][3][1], "purpose": "x", "mode": "reading_room"})
    assert hidden.status_code == 404 and 'id="records-error"' in hidden.text

    sent = client.post("/requests", headers=ORIGIN, follow_redirects=False, data={
        "records": ref, "purpose": "编研 research", "mode": "take_away"})
    assert sent.status_code == 303
    where = sent.headers["location"]
    page = client.get(where).text
    assert "Submitted" in page and box in page and 'id="approve"' not in page

    _sign_in(client, "archivist-default")
    assert f'href="{where}"' in client.get("/desk").text
    bad = client.post(f"{where}/approve", headers=ORIGIN, data={"due_on": "not-a-day"})
    assert bad.status_code == 422 and 'id="due-error"' in bad.text
    ok = client.post(f"{where}/approve", headers=ORIGIN, follow_redirects=False, data={"due_on": ""})
    assert ok.status_code == 303 and ok.headers["location"] == where
    shown = client.get(where, params={"lang": "zh"}).text
    assert "已批准" in shown and "借出" in shown
    desk = client.get("/desk", params={"lang": "zh"}).text
    assert "取档单" in desk and box in desk

    _sign_in(client, "borrower-internal")
    mine = client.get("/requests").text
    assert "Approved" in mine


def test_refusing_needs_a_reason_and_the_borrower_reads_it(client, archive):
    a = archive
    made = client.post("/api/requests", headers=a["borrower"],
                       json={"boxes": [a["boxes"][1][0]], "purpose": "x"}).json()
    _sign_in(client, "archivist-default")
    empty = client.post(f"/requests/{made['id']}/refuse", headers=ORIGIN, data={"reason": " "})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.text
    done = client.post(f"/requests/{made['id']}/refuse", headers=ORIGIN, follow_redirects=False,
                       data={"reason": "正在数字化 being digitised"})
    assert done.status_code == 303
    _sign_in(client, "borrower-internal")
    assert "正在数字化 being digitised" in client.get(f"/requests/{made['id']}").text
    again = client.post(f"/requests/{made['id']}/cancel", headers=ORIGIN)
    assert again.status_code == 409 and "is refused" in again.text


def test_my_loans_holds_and_where_is(client, auth, archive):
    a = archive
    box, ref = a["boxes"][1]
    due = (now().date() + timedelta(days=3)).isoformat()
    loan = client.post(f"/api/boxes/{box}/loan", headers=a["staff"],
                       json={"borrower": "borrower-internal", "due_on": due}).json()
    auth("borrower", "confidential")
    _sign_in(client, "borrower-confidential")
    queued = client.post("/holds", headers=ORIGIN, follow_redirects=False, data={"record": ref})
    assert queued.status_code == 303 and queued.headers["location"] == "/my"
    mine = client.get("/my").text
    assert box in mine and "place 1 in the queue" in mine
    where = client.get("/whereis", params={"code": ref, "lang": "zh"}).text
    assert "借出" in where and f"应于 {due} 归还" in where
    _sign_in(client, "borrower-internal")
    assert client.get("/whereis", params={"code": a["boxes"][3][1]}).status_code == 404
    renewal = client.post(f"/loans/{loan['id']}/renew", headers=ORIGIN, follow_redirects=False)
    assert renewal.status_code == 303 and "error=" in renewal.headers["location"]
    shown = client.get(renewal.headers["location"]).text
    assert "hold this box" in shown and box in shown


def test_the_shelve_page_returns_a_lent_box_before_shelving_it_in_chinese(client, archive):
    a = archive
    box = a["boxes"][1][0]
    slot = a["codes"]["Slot 1"]
    due = (now().date() + timedelta(days=3)).isoformat()
    client.post(f"/api/boxes/{box}/loan", headers=a["staff"],
                json={"borrower": "borrower-internal", "due_on": due})
    _sign_in(client, "staff-default")
    shelve = client.get("/shelve", params={"lang": "zh"}).text
    assert "取档" in shelve and "归还" in shelve
    client.post("/shelve/scan", headers=ORIGIN, json={"code": slot, "mode": "shelve"})
    shown = client.post("/shelve/scan", headers=ORIGIN,
                        json={"code": box, "target": slot, "mode": "shelve"}).json()
    assert shown["action"] == "returned_and_shelved" and shown["ok"] is True
    assert shown["said"].startswith("原为借出：已归还，并上架到")
    assert "原借给 borrower-internal：已归还" in shown["detail"]  # the page is in Chinese
    assert client.get("/api/loans", headers=a["staff"], params={"state": "open"}).json()["total"] == 0


def test_the_shelve_page_checks_out_and_takes_back(client, archive):
    a = archive
    box = a["boxes"][1][0]
    rid = client.post("/api/requests", headers=a["borrower"],
                      json={"boxes": [box], "purpose": "x", "mode": "take_away"}).json()["id"]
    client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    _sign_in(client, "staff-default")
    out = client.post("/shelve", headers=ORIGIN, data={"code": box, "mode": "checkout"})
    assert out.status_code == 200 and "Checked out" in out.text
    assert 'value="checkout" id="mode-checkout" checked' in out.text
    back = client.post("/shelve/scan", headers=ORIGIN, json={"code": box, "mode": "return"}).json()
    assert back["action"] == "returned" and back["said"].startswith(f"Returned: take {box} to")
    assert client.get(f"/api/requests/{rid}", headers=a["borrower"]).json()["state"] == "returned"
