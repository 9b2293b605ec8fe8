"""The scan resolver: every form of every identifier, and what it says when nothing matches."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from labels.identifiers import all_forms
from tests.conftest import PASSWORD
from tests.integration.tree import build_tree


@pytest.fixture
def named(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    client.post(
        "/api/records",
        headers=admin,
        json={"reference_code": "WS·2024·Y·0001", "title": "通知", "box": box},
    )
    return admin, box, codes["Slot 1"]


def test_every_form_of_a_box_and_a_location_resolves(client, named):
    admin, box, slot = named
    for code, kind in ((box, "box"), (slot, "location")):
        forms = all_forms(code, company_prefix="0614141", base_url="http://archive.test")
        for form, text in forms.items():
            for variant in (text, f"  {text.lower()}\n", text.upper()):
                answer = client.get(f"/api/scan/{quote(variant, safe='')}", headers=admin)
                assert answer.status_code == 200, (form, variant, answer.text)
                found = answer.json()
                assert (found["kind"], found["code"], found["matched"]) == (kind, code, form)


def test_a_reference_code_resolves_even_typed_with_dashes(client, named):
    admin, box, _ = named
    for typed in ("WS·2024·Y·0001", "WS-2024-Y-0001"):
        found = client.get(f"/api/scan/{typed}", headers=admin).json()
        assert found["kind"] == "record" and found["code"] == "WS·2024·Y·0001"
        assert found["record"]["box"] == box


def test_codes_that_name_nothing_or_cannot_be_codes(client, named):
    admin, _, _ = named
    nothing = client.get("/api/scan/B09999999", headers=admin)
    assert nothing.status_code == 404
    assert "no box is registered" in nothing.json()["detail"]
    assert client.get("/api/scan/WS·1900·Y·9999", headers=admin).status_code == 404
    short = client.get("/api/scan/B123", headers=admin)
    assert short.status_code == 422 and short.json()["field"] == "code"
    other_org = client.get("/api/scan/urn:epc:id:giai:0037000.100000001", headers=admin)
    assert other_org.status_code == 422
    too_long = client.get(f"/api/scan/{'x' * 400}", headers=admin)
    assert too_long.status_code == 422
    assert client.get("/api/scan/B00000001").status_code == 401


@pytest.mark.parametrize("text", ["<<not a code>>", "B0000 0123", "WS·2024\x01·Y", "{B00000123}",
                                  "a|b", "x" * 301])
def test_text_that_cannot_be_any_code_answers_422_saying_what_a_code_looks_like(client, named,
                                                                                text):
    admin, _, _ = named
    answer = client.get(f"/api/scan/{quote(text, safe='')}", headers=admin)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "code" and "cannot be a code" in body["detail"]
    assert "B00000123" in body["detail"] and "WS·2024·Y·0001" in body["detail"]
    scanned = client.post("/api/scan", headers=admin, json={"code": text})
    assert scanned.status_code == 422 and scanned.json()["field"] == "code"
    assert (scanned.json()["action"], scanned.json()["reason"]) == ("refused", "invalid")


def test_a_reference_code_no_scanner_could_read_back_is_refused_when_created(client, named):
    admin, _, _ = named
    for bad in ("WS<2024>", "WS·2024 Y", "WS|1"):
        answer = client.post("/api/records", headers=admin,
                             json={"reference_code": bad, "title": "x"})
        assert answer.status_code == 422, (bad, answer.text)
    # what can be a code still resolves with surrounding whitespace
    assert client.get(f"/api/scan/{quote('  WS-2024-Y-0001 ')}", headers=admin).status_code == 200


def test_words_that_cannot_be_a_code_are_searched_on_the_find_page_without_a_notice(client, named):
    admin, _, _ = named
    client.post("/api/records", headers=admin, json={"reference_code": "WS·2024·Y·0002",
                                                     "title": "会计凭证 第1册"})
    client.post("/signin", data={"username": "admin-default", "password": PASSWORD},
                headers={"Origin": "http://testserver"}, follow_redirects=False)
    page = client.get("/find", params={"q": "会计凭证 第1册"})
    assert page.status_code == 200 and "WS·2024·Y·0002" in page.text
    assert "Not a usable code" not in page.text
    assert "Not a usable code" in client.get("/find", params={"q": "B123"}).text
