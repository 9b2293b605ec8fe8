"""Electronic copies over HTTP: streamed upload into the content-addressed store, the
four-property check, downloads with clearance and audit, and the upload size limit."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from server.app import create_app
from server.services import people
from tests.conftest import PASSWORD


def make_pdf(text: str = "archive") -> bytes:
    """A real one-page PDF (Pillow writes header, xref and %%EOF)."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PDF", title=text)
    return buffer.getvalue()


def make_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def stored_files(root: Path) -> list[Path]:
    """Files in the store, leaving out the (temporary) incoming folder."""
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and "incoming" not in p.parts]


def add_record(client, headers, ref="WS·2024·Y·0001", classification="internal"):
    answer = client.post("/api/records", headers=headers, json={
        "reference_code": ref, "title": "关于2024年度档案工作的通知",
        "classification": classification})
    assert answer.status_code == 201, answer.text


def upload(client, headers, ref, data, name="scan.pdf", mime="application/octet-stream"):
    return client.post(f"/api/records/{ref}/copies", headers=headers,
                       files={"file": (name, data, mime)})


def test_upload_is_hashed_checked_stored_once_and_downloadable(client, auth, settings):
    admin = auth("admin")
    add_record(client, admin)
    add_record(client, admin, ref="WS·2024·Y·0002")
    pdf = make_pdf()

    answer = upload(client, admin, "WS·2024·Y·0001", pdf, name="会议纪要 2024.pdf")
    assert answer.status_code == 201, answer.text
    copy = answer.json()
    assert copy["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert copy["size_bytes"] == len(pdf)
    assert copy["media_type"] == "application/pdf" and copy["format_name"] == "PDF"
    assert copy["outcome"] == "passed", copy["checks"]
    assert set(copy["checks"]) == {"authenticity", "integrity", "usability", "security"}
    assert all(check["ok"] for check in copy["checks"].values())
    assert copy["added_by"] == "admin-default" and copy["fixity"] == "ok"

    again = upload(client, admin, "WS·2024·Y·0002", pdf, name="copy.pdf")
    assert again.status_code == 201 and again.json()["sha256"] == copy["sha256"]
    repeat = upload(client, admin, "WS·2024·Y·0001", pdf)
    assert repeat.status_code == 201 and repeat.json()["already_held"] is True
    assert repeat.json()["id"] == copy["id"]
    assert len(stored_files(settings.copies_path)) == 1  # the same bytes are kept once

    listed = client.get("/api/records/WS·2024·Y·0001/copies", headers=admin).json()
    assert listed["total"] == 1 and listed["items"][0]["file_name"] == "会议纪要 2024.pdf"

    got = client.get(copy["download_url"], headers=admin)
    assert got.status_code == 200
    assert got.content == pdf
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('会议纪要 2024.pdf', safe='')}" in disposition

    log = client.get("/api/audit", headers=admin,
                     params={"entity": "copy", "entity_id": str(copy["id"])}).json()
    actions = [entry["action"] for entry in log["items"]]
    assert "download" in actions and "attach" in actions


def test_images_open_and_format_comes_from_bytes_not_name(client, auth):
    admin = auth("archivist")
    add_record(client, admin)
    answer = upload(client, admin, "WS·2024·Y·0001", make_png(), name="looks-like.pdf")
    assert answer.status_code == 201, answer.text
    copy = answer.json()
    assert copy["format_name"] == "PNG" and copy["media_type"] == "image/png"
    assert copy["checks"]["usability"]["ok"] and "64×48" in copy["checks"]["usability"]["detail"]
    got = client.get(copy["download_url"], headers=admin)
    assert got.headers["content-type"] == "image/png"


@pytest.mark.parametrize(("data", "failing"), [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "security"),
    (b"MZ\x90\x00" + b"\x00" * 200, "security"),
    (b"#!/bin/sh\nrm -rf /\n", "security"),
])
def test_executable_content_fails_the_security_check(client, auth, data, failing):
    admin = auth("admin")
    add_record(client, admin)
    copy = upload(client, admin, "WS·2024·Y·0001", data, name="invoice.pdf").json()
    assert copy["outcome"] == "failed"
    assert copy["checks"][failing]["ok"] is False
    assert "executable" in copy["checks"][failing]["detail"]


def test_a_cut_short_pdf_fails_integrity_and_usability(client, auth):
    admin = auth("admin")
    add_record(client, admin)
    pdf = make_pdf()
    copy = upload(client, admin, "WS·2024·Y·0001", pdf[: len(pdf) // 2]).json()
    assert copy["outcome"] == "failed"
    assert copy["checks"]["integrity"]["ok"] is False
    assert copy["checks"]["usability"]["ok"] is False
    assert "%%EOF" in copy["checks"]["usability"]["detail"]
    checks = client.get(f"/api/copies/{copy['id']}/checks", headers=admin).json()
    assert checks[0]["kind"] == "ingest" and checks[0]["outcome"] == "failed"


def test_downloads_follow_clearance_and_refusals_are_audited(client, auth):
    admin = auth("admin")
    add_record(client, admin, ref="WS·2024·Y·0001", classification="public")
    add_record(client, admin, ref="WS·2024·Y·0002", classification="confidential")
    public = upload(client, admin, "WS·2024·Y·0001", make_pdf("a")).json()
    secret = upload(client, admin, "WS·2024·Y·0002", make_pdf("b")).json()

    borrower = auth("borrower")
    assert client.get(public["download_url"], headers=borrower).status_code == 200
    refused = client.get(secret["download_url"], headers=borrower)
    missing = client.get("/api/copies/999999", headers=borrower)
    # above the clearance answers exactly as missing: a 403 would tell the record exists
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["detail"] == missing.json()["detail"].replace("999999",
                                                                        str(secret["id"]))
    assert client.get("/api/records/WS·2024·Y·0002/copies", headers=borrower).status_code == 404
    cleared = auth("borrower", "confidential")
    # may see it, but a borrower downloads a copy that is not public on a grant
    # (tests/integration/test_lending_downloads.py)
    assert client.get(secret["download_url"], headers=cleared).status_code == 403
    staff = auth("staff", "confidential")
    assert client.get(secret["download_url"], headers=staff).status_code == 200

    log = client.get("/api/audit", headers=admin,
                     params={"entity": "copy", "entity_id": str(secret["id"])}).json()
    seen = {(e["actor"], e["action"]) for e in log["items"]}
    assert ("borrower-default", "download_refused") in seen
    assert ("borrower-confidential", "download_refused") in seen
    assert ("staff-confidential", "download") in seen
    assert client.get("/api/copies/999999", headers=admin).status_code == 404


def test_only_archivists_and_admins_upload(client, auth):
    admin = auth("admin")
    add_record(client, admin)
    for role in ("staff", "borrower", "facilities"):
        assert upload(client, auth(role), "WS·2024·Y·0001", b"hello").status_code == 403
    assert upload(client, admin, "WS·9999·Y·0001", b"hello").status_code == 404
    assert client.post("/api/records/WS·2024·Y·0001/copies", headers=admin,
                       files={"other": ("x.txt", b"x")}).status_code == 422


@pytest.mark.parametrize("size", [150_000, 1_000_000])
def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(db, settings, size):
    """150 kB passes the Content-Length precheck and is cut off while streaming; 1 MB is not."""
    small = settings.model_copy(update={"upload_max_bytes": 100_000})
    with TestClient(create_app(small)) as client:
        with Session(db) as s:
            people.create_user(s, username="arch", password=PASSWORD, role="archivist")
            s.commit()
        token = client.post("/api/auth/token",
                            data={"username": "arch", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        add_record(client, headers)
        answer = upload(client, headers, "WS·2024·Y·0001", b"x" * size)
        assert answer.status_code == 413
        assert "100,000 bytes" in answer.json()["detail"]
        root = small.copies_path
        assert stored_files(root) == []
        assert not (root / "incoming").exists() or list((root / "incoming").iterdir()) == []
        assert client.get("/api/records/WS·2024·Y·0001/copies",
                          headers=headers).json()["total"] == 0
        ok = upload(client, headers, "WS·2024·Y·0001", b"y" * 99_000, name="notes.txt")
        assert ok.status_code == 201
