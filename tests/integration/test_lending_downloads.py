"""Time-limited download access: a record with an electronic copy lent as a download."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from server.clock import now
from server.models.audit import AuditEntry
from server.models.holdings import Movement
from server.services import downloads
from tests.integration.test_copies import add_record, make_pdf, upload

REF, SECRET, BARE = "WS·2024·Y·0001", "WS·2024·Y·0002", "WS·2024·Y·0003"


def _archive(client, auth):
    admin = auth("admin")
    add_record(client, admin, ref=REF, classification="internal")
    add_record(client, admin, ref=SECRET, classification="secret")
    add_record(client, admin, ref=BARE, classification="internal")
    copy = upload(client, admin, REF, make_pdf("internal")).json()
    secret = upload(client, admin, SECRET, make_pdf("secret")).json()
    return {"admin": admin, "archivist": auth("archivist"), "borrower": auth("borrower", "internal"),
            "copy": copy, "secret": secret}


def _ask(client, a, **body):
    body.setdefault("purpose", "论文写作 research")
    body.setdefault("mode", "download")
    return client.post("/api/requests", headers=a["borrower"], json=body)


def test_an_approved_download_request_grants_the_copies_until_it_expires(client, auth, db,
                                                                         monkeypatch):
    a = _archive(client, auth)
    url = a["copy"]["download_url"]
    before = client.get(url, headers=a["borrower"])
    assert before.status_code == 403
    assert "POST /api/requests mode download" in before.json()["detail"]

    made = _ask(client, a, records=[REF])
    assert made.status_code == 201, made.text
    shown = made.json()
    assert (shown["mode"], shown["records"], shown["boxes"], shown["download_until"]) == (
        "download", [REF], [], None)
    assert client.get(url, headers=a["borrower"]).status_code == 403  # not yet approved

    approved = client.post(f"/api/requests/{shown['id']}/approve", headers=a["archivist"], json={})
    assert approved.status_code == 200, approved.text
    until = approved.json()["download_until"]
    assert approved.json()["state"] == "approved"
    got = client.get(url, headers=a["borrower"])
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    # due in the policy's 7 days
    left = datetime.fromisoformat(until) - now()
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
    # no box moved, nothing to pick
    with Session(db) as s:
        assert s.exec(select(Movement).where(Movement.reason == "loan")).all() == []
    assert client.get("/api/picklist", headers=a["admin"]).json()["total"] == 0

    # Eight days later the access has ended: 403 naming when.
    later = now() + timedelta(days=8)
    monkeypatch.setattr(downloads, "now", lambda: later)
    expired = client.get(url, headers=a["borrower"])
    assert expired.status_code == 403
    assert f"ended at {until[:19]}" in expired.json()["detail"]
    with Session(db) as s:
        actions = [e.action for e in s.exec(select(AuditEntry).where(
            AuditEntry.actor == "borrower-internal", AuditEntry.entity == "copy"))]
        granted = s.exec(select(AuditEntry).where(AuditEntry.action == "download_granted")).one()
    assert actions == ["download_refused", "download_refused", "download", "download_refused"]
    assert granted.actor == "archivist-default" and REF in str(granted.after)


def test_cancelling_ends_the_grant_and_clearance_still_rules(client, auth):
    a = _archive(client, auth)
    rid = _ask(client, a, records=[REF]).json()["id"]
    client.post(f"/api/requests/{rid}/approve", headers=a["archivist"], json={})
    assert client.get(a["copy"]["download_url"], headers=a["borrower"]).status_code == 200
    assert client.post(f"/api/requests/{rid}/cancel", headers=a["borrower"]).status_code == 200
    ended = client.get(a["copy"]["download_url"], headers=a["borrower"])
    assert ended.status_code == 403 and f"request {rid} is cancelled" in ended.json()["detail"]
    # above the clearance the record does not exist, to ask for or to download
    assert _ask(client, a, records=[SECRET]).status_code == 404
    assert client.get(a["secret"]["download_url"], headers=a["borrower"]).status_code == 404


def test_only_records_with_copies_and_no_boxes(client, auth):
    a = _archive(client, auth)
    bare = _ask(client, a, records=[BARE])
    assert bare.status_code == 422 and bare.json()["field"] == "records"
    assert "no electronic copy" in bare.json()["detail"]
    boxes = _ask(client, a, records=[REF], boxes=["WS-BOX-000001"])
    assert boxes.status_code == 422 and boxes.json()["field"] == "boxes"
    # the contract's modes stay as they were
    assert _ask(client, a, records=[REF], mode="by_post").status_code == 422
