"""In a real browser: a borrower requests a record from its page, an archivist approves it,
staff check the box out with the scanner on the Shelve page, and the borrower sees it."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlmodel import Session

from server.services import people
from tests.e2e.conftest import CHROMIUM, PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect


def test_a_borrower_requests_staff_approve_and_check_out(open_page, live_server):
    with Session(live_server.app.state.writer) as session:
        people.create_user(session, username="li.wei", password=PASSWORD, role="borrower",
                           clearance="internal", full_name="李伟")
        session.commit()
    record = live_server.archive.records[0]
    box = live_server.archive.boxes[0]

    borrower = open_page("li.wei")
    borrower.goto("/records/" + quote(record, safe=""))
    borrower.locator("#request-record").click()
    expect(borrower.locator("#records")).to_have_value(record)
    borrower.locator("#purpose").fill("编研 research")
    borrower.get_by_label("Take away").check()
    borrower.locator("#send-request").click()
    expect(borrower).to_have_url(re.compile(r"/requests/\d+$"))
    expect(borrower.locator("#request-state")).to_have_text("Submitted")
    request_url = borrower.url

    archivist = open_page("ann")
    archivist.goto("/desk")
    archivist.locator("#waiting a").first.click()
    expect(archivist.locator("#request-boxes")).to_contain_text(box)
    archivist.locator("#approve").click()
    expect(archivist.locator("#request-state")).to_have_text("Approved")

    staff = open_page("sam", width=412, height=860)
    staff.goto("/shelve")
    staff.locator("#mode-checkout").check()
    scan = staff.locator("#scan")
    scan.fill(box)
    scan.press("Enter")
    result = staff.locator("#scans li").first
    expect(result).to_contain_text(f"Checked out: {box}")
    expect(result).to_contain_text("checked out to li.wei")
    expect(result).to_have_class(re.compile(r"\bok\b"))

    borrower.goto(request_url)
    expect(borrower.locator("#request-state")).to_have_text("Checked out")
    borrower.goto("/my?lang=zh")
    expect(borrower.locator("#my-loans")).to_contain_text(box)
    expect(borrower.get_by_role("heading", name="我借出的档案盒")).to_be_visible()
