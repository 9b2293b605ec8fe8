"""The labels and reports pages in a real browser: print a shelf's labels, a range as ZPL, see a
box's label on its page, follow every report link; a borrower is kept out."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlmodel import Session

from server.models.holdings import BoxCreate
from server.services import boxes, people
from tests.e2e.conftest import PASSWORD


@pytest.fixture
def shelved(live_server):
    """Three boxes on Shelf 1 (two in Slot 1, one in Slot 2), boxes up to B00000040, and an
    archivist and a borrower who sign in."""
    archive = live_server.archive
    with Session(live_server.engine) as session:
        for code, slot in zip(archive.boxes[:3], ("Slot 1", "Slot 1", "Slot 2"), strict=True):
            boxes.move_box(session, code, to=archive.places[slot], user="test")
        while len(archive.boxes) < 40:
            archive.boxes.append(boxes.create_box(session, BoxCreate(), scheme=live_server.scheme,
                                                  actor="test").code)
        people.create_user(session, username="ada", password=PASSWORD, role="archivist",
                           clearance="internal")
        people.create_user(session, username="bob", password=PASSWORD, role="borrower")
        session.commit()
    return archive.boxes[:3]


def _qr_codes(pdf: bytes) -> list[str]:
    """The box codes of every QR code on every page of a PDF, as a phone's camera reads them."""
    import pypdfium2
    import zxingcpp

    codes = []
    for page in pypdfium2.PdfDocument(pdf):
        image = page.render(scale=300 / 72).to_pil()
        for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            codes.append(found.text.rsplit("/s/", 1)[-1])
    return codes


def _choose(page, what: str) -> None:
    page.goto("/labels")
    page.locator(f"#what-{what}").check()


def test_a_shelf_prints_one_label_per_box_as_a_pdf(open_page, live_server, shelved):
    from pypdf import PdfReader

    page = open_page("ada")
    _choose(page, "shelf")
    # the shelf chosen by scanning its label: the scanner types the QR URL
    page.locator("#location").fill(live_server.scheme.qr(live_server.archive.places["Shelf 1"]))
    page.locator("#stock").select_option("a4-3x8")
    page.locator("#output-pdf").check()
    with page.expect_download() as info:
        page.locator("#print-labels").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1  # three labels on one A4 sheet of 24
    text = reader.pages[0].extract_text()
    assert all(code in text for code in shelved)
    assert sorted(_qr_codes(pdf)) == sorted(shelved)


def test_a_range_downloads_as_zpl_with_a_format_per_label(open_page, live_server, shelved):
    page = open_page("ada")
    _choose(page, "range")
    page.locator("#first").fill("B00000010")
    page.locator("#last").fill("B00000040")
    page.locator("#stock").select_option("100x50")
    page.locator("#output-zpl").check()
    with page.expect_download() as info:
        page.locator("#print-labels").click()
    assert info.value.suggested_filename.endswith(".zpl")
    zpl = Path(info.value.path()).read_text(encoding="utf-8")
    formats = re.findall(r"\^XA.*?\^XZ", zpl, flags=re.S)
    assert len(formats) == 31
    for n, fmt in enumerate(formats, start=10):
        assert f"^FDB{n:08d}^FS" in fmt  # the Code128 the printer draws


def test_a_range_too_long_is_refused_next_to_the_field_with_the_values_kept(open_page, shelved):
    page = open_page("ada")
    _choose(page, "range")
    page.locator("#first").fill("B00000001")
    page.locator("#last").fill("B00009999")
    page.locator("#output-zpl").check()
    with page.expect_response(lambda r: "/labels/print" in r.url) as info:
        page.locator("#print-labels").click()
    assert info.value.status == 422
    error = page.locator("#range-error")
    assert "500" in error.inner_text()
    assert page.locator("#first").get_attribute("aria-describedby") == "range-error"
    assert page.locator("#first").input_value() == "B00000001"
    assert page.locator("#last").input_value() == "B00009999"
    assert page.locator("#what-range").is_checked() and page.locator("#output-zpl").is_checked()
    colour = error.evaluate("e => getComputedStyle(e).color")
    assert colour != page.locator("h1").evaluate("e => getComputedStyle(e).color")


def test_the_preview_shows_the_first_label(open_page, shelved):
    page = open_page("sam")
    _choose(page, "box")
    page.locator("#box").fill(shelved[0])
    page.locator("#preview-labels").click()
    image = page.locator("#label-preview img")
    image.wait_for()
    assert page.wait_for_function(
        "() => { const i = document.querySelector('#label-preview img');"
        " return i.complete && i.naturalWidth > 0 }")
    assert page.locator("#box").input_value() == shelved[0]


def test_the_box_page_shows_its_label_image(open_page, shelved):
    import zxingcpp
    from PIL import Image

    page = open_page("sam")
    with page.expect_response(lambda r: "label.png" in r.url) as info:
        page.goto(f"/boxes/{shelved[0]}")
    answer = info.value
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    page.wait_for_function("() => { const i = document.querySelector('#label-image');"
                           " return i.complete && i.naturalWidth > 0 }")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(answer.body())))
    assert shelved[0] in {f.text.rsplit("/s/", 1)[-1] for f in found}


def test_the_cookie_reads_only_from_this_site(open_page, shelved):
    page = open_page("sam")
    url = f"/api/boxes/{shelved[0]}/label.png"
    assert page.request.get(url).status == 200
    # another site embedding the image, or a write with the cookie alone: refused
    assert page.request.get(url, headers={"Sec-Fetch-Site": "cross-site"}).status == 401
    assert page.request.post(f"/api/boxes/{shelved[0]}/move", data={"to": "L00000007"}).status == 401


def test_every_report_link_answers_for_an_archivist(open_page, live_server, shelved):
    page = open_page("ada")
    answer = page.goto("/reports")
    assert answer is not None and answer.status == 200
    links = page.locator("main a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for wanted in ("/statistics", "/statistics/report.pdf", "/picklist.pdf",
                   "/api/forms/catalogue.pdf", "/labels"):
        assert wanted in links
    for href in links:
        assert page.request.get(href).status == 200, href
    # the box's record sheet and a record's package, from their codes
    assert page.request.get(f"/reports/record-sheet?box={shelved[0]}").headers[
        "content-type"] == "application/pdf"
    page.locator("#record-sheet-box").fill("B99999999")
    page.locator("#record-sheet-box").press("Enter")
    assert page.locator("#record-sheet-error").is_visible()
    assert page.locator("#record-sheet-box").input_value() == "B99999999"
    package = page.request.get("/reports/package", params={"record": live_server.archive.records[2]})
    assert package.status == 200 and "xml" in package.headers["content-type"]


def test_a_borrower_has_no_labels_or_reports(open_page, shelved):
    page = open_page("bob")
    for path in ("/labels", "/labels/print?what=box&box=B00000001", "/reports"):
        answer = page.goto(path)
        assert answer is not None and answer.status in (403, 404), path
    assert page.locator("nav a[href='/labels'], nav a[href='/reports']").count() == 0
