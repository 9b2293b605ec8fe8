"""Records over HTTP: reference codes, search, clearance and the audit of changes."""

from __future__ import annotations

from tests.integration.tree import build_tree


def _record(client, headers, **fields):
    body = {"reference_code": "WS·2024·Y·0001", "title": "关于2024年度档案工作的通知", **fields}
    return client.post("/api/records", headers=headers, json=body)


def test_create_and_read_a_record_in_a_box(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": codes["Slot 1"]})
    answer = _record(
        client,
        admin,
        box=box,
        fonds="X001",
        year=2024,
        retention="permanent",
        classification="internal",
        metadata={"pages": 12, "作者": "办公室"},
    )
    assert answer.status_code == 201, answer.text
    got = client.get("/api/records/WS·2024·Y·0001", headers=admin).json()
    assert got["box"] == box and got["location"] == codes["Slot 1"]
    assert got["metadata"] == {"pages": 12, "作者": "办公室"}
    assert client.get(f"/api/boxes/{box}", headers=admin).json()["records"] == 1


def test_bad_records_are_refused_with_the_field(client, auth):
    admin = auth("admin")
    assert _record(client, admin).status_code == 201
    dup = _record(client, admin)
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    spaced = _record(client, admin, reference_code="WS 2024")
    assert spaced.status_code == 422 and spaced.json()["field"] == "reference_code"
    secretish = _record(client, admin, reference_code="WS·2024·Y·0002", classification="top")
    assert secretish.status_code == 422
    custom = _record(client, admin, reference_code="WS·2024·Y·0003", retention="custom")
    assert custom.status_code == 422 and custom.json()["field"] == "retention_years"
    nobox = _record(client, admin, reference_code="WS·2024·Y·0004", box="B01234567")
    assert nobox.status_code == 422 and nobox.json()["field"] == "box"
    assert client.get("/api/records", headers=admin).json()["total"] == 1


def test_search_latin_any_case_and_chinese(client, auth):
    admin = auth("admin")
    _record(
        client,
        admin,
        reference_code="WS·2024·Y·0001",
        title="关于2024年度档案工作的通知",
        year=2024,
    )
    _record(
        client, admin, reference_code="KJ·2023·D30·0001", title="General Ledger 2023", year=2023
    )
    _record(client, admin, reference_code="KJ·2022·D10·0001", title="Minutes", year=2022)
    assert [
        r["reference_code"]
        for r in client.get("/api/records", headers=admin, params={"q": "ledger"}).json()["items"]
    ] == ["KJ·2023·D30·0001"]
    assert client.get("/api/records", headers=admin, params={"q": "档案工作"}).json()["total"] == 1
    years = client.get("/api/records", headers=admin, params={"year_from": 2023}).json()
    assert years["total"] == 2
    assert client.get("/api/records", headers=admin, params={"q": "100%"}).json()["total"] == 0


def test_clearance_hides_records_above_it(client, auth):
    admin = auth("admin")
    _record(client, admin, reference_code="WS·2024·Y·0001", classification="public")
    _record(client, admin, reference_code="WS·2024·Y·0002", classification="confidential")
    borrower = auth("borrower")
    seen = client.get("/api/records", headers=borrower).json()
    assert [r["reference_code"] for r in seen["items"]] == ["WS·2024·Y·0001"]
    assert client.get("/api/records/WS·2024·Y·0002", headers=borrower).status_code == 404
    assert client.get("/api/scan/WS·2024·Y·0002", headers=borrower).status_code == 404
    cleared = auth("borrower", "confidential")
    assert client.get("/api/records/WS·2024·Y·0002", headers=cleared).status_code == 200


def test_changes_are_audited_with_before_and_after(client, auth):
    admin = auth("admin")
    _record(client, admin)
    answer = client.patch(
        "/api/records/WS·2024·Y·0001", headers=admin, json={"classification": "confidential"}
    )
    assert answer.status_code == 200
    log = client.get(
        "/api/audit", headers=admin, params={"entity": "record", "entity_id": "WS·2024·Y·0001"}
    ).json()
    change = log["items"][0]
    assert change["action"] == "update" and change["actor"] == "admin-default"
    assert change["before"]["classification"] == "internal"
    assert change["after"]["classification"] == "confidential"
    assert (
        client.patch(
            "/api/records/WS·2024·Y·0001", headers=auth("staff"), json={"title": "x"}
        ).status_code
        == 403
    )


def test_a_change_cannot_blank_what_a_record_needs(client, auth):
    admin = auth("admin")
    _record(client, admin)
    for field in ("title", "classification", "retention"):
        answer = client.patch("/api/records/WS·2024·Y·0001", headers=admin, json={field: None})
        assert answer.status_code == 422 and answer.json()["field"] == field
    assert client.get("/api/records/WS·2024·Y·0001", headers=admin).json()["classification"] == "internal"
