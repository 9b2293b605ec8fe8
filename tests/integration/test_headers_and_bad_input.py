"""Security headers on every answer, copies served as attachments of their stored type, slow
uploads cut off, and control characters refused with 422 naming the field (never a 500)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from tests.integration.test_copies import add_record, make_pdf, upload

TEMPLATES = Path(__file__).resolve().parents[2] / "dashboard" / "templates"


def _secured(answer: httpx.Response) -> None:
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"


def test_every_kind_of_answer_carries_the_security_headers(client, auth):
    admin = auth("admin")
    add_record(client, admin)
    copy = upload(client, admin, "WS·2024·Y·0001", make_pdf(), name="minutes.pdf").json()
    for answer in (client.get("/signin"), client.get("/api/boxes", headers=admin),
                   client.get("/api/boxes"), client.get("/static/dashboard.js"),
                   client.get(copy["download_url"], headers=admin), client.get("/healthz"),
                   client.get("/api/records", params={"q": "a\x00b"}, headers=admin)):
        _secured(answer)
    got = client.get(copy["download_url"], headers=admin)
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")


def test_the_pages_have_no_inline_script_style_or_handler():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert " style=" not in text and "<style" not in text, template.name


@pytest.mark.parametrize(("url", "params", "field"), [
    ("/api/records", {"q": "rec\x00secret"}, "q"),
    ("/api/records", {"q": "rec\x07"}, "q"),
    ("/api/boxes", {"status": "on_shelf\x00"}, "status"),
    ("/api/audit", {"entity": "record", "entity_id": "x\x1by"}, "entity_id"),
])
def test_control_characters_in_a_query_answer_422_naming_it(client, auth, url, params, field):
    answer = client.get(url, params=params, headers=auth("admin"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and "control character" in answer.json()["detail"]


def test_control_characters_in_paths_and_bodies_answer_422_naming_the_field(client, auth):
    admin = auth("admin")
    named = client.get("/api/records/WS%00x", headers=admin)
    assert named.status_code == 422 and named.json()["field"] == "reference_code"
    for scanned in (client.get("/api/scan/B0000%0001", headers=admin),
                    client.post("/api/scan", headers=admin, json={"code": "B0000\u00000001"})):
        assert scanned.status_code == 422 and scanned.json()["field"] == "code"
    made = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0009", "title": "good\x00evil", "classification": "public"})
    assert made.status_code == 422 and made.json()["field"] == "title"
    room = client.post("/api/locations", headers=admin, json={
        "name": "Room\x00", "kind": "room", "parent": None})
    assert room.status_code == 422 and room.json()["field"] == "name"
    form = client.post("/api/auth/token", data={"username": "ad\x00min", "password": "x" * 9})
    assert form.status_code == 422 and form.json()["field"] == "username"
    # line breaks and tabs are text, not control characters to refuse
    fine = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0010", "title": "two\nlines\tand a tab",
        "classification": "public"})
    assert fine.status_code == 201, fine.text


def test_a_stalled_upload_is_cut_off(settings, auth, client):
    admin = auth("admin")
    add_record(client, admin)
    slow = settings.model_copy(update={"upload_read_timeout_s": 0.5})
    app = create_app(slow)

    async def stalled() -> httpx.Response:
        async def body():
            yield (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
                   b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n")
            await asyncio.sleep(3)  # then nothing more: the server must not wait for ever
            yield b"\r\n--b--\r\n"

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.post("/api/records/WS·2024·Y·0001/copies", headers={
                **admin, "content-type": "multipart/form-data; boundary=b"}, content=body())

    # in a thread of its own: a browser test's Playwright may hold this thread's event loop
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(asyncio.run, stalled()).result()
    assert answer.status_code == 408 and "sent nothing" in answer.json()["detail"]
    incoming = Path(settings.copies_path) / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())
