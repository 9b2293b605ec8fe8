"""Forms that behave: a reload after lending, taking back or lighting sends nothing again; an
error stays under its field with what was typed; the borrower picker shows clearance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from server.clock import now
from server.models.loans import Loan
from server.services import boxes, people
from tests.e2e.conftest import CHROMIUM, PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect


def _loans(live_server) -> int:
    with Session(live_server.engine) as session:
        return int(session.exec(select(func.count()).select_from(Loan)).one())


@pytest.fixture
def shelved(live_server) -> str:
    """The first box on Slot 1; a reader, Rita, with public clearance only."""
    box = live_server.archive.boxes[0]
    with Session(live_server.engine) as session:
        boxes.move_box(session, box, to=live_server.archive.places["Slot 1"], user="test")
        people.create_user(session, username="rita", password=PASSWORD, role="borrower",
                           clearance="public", full_name="Rita Reader")
        people.create_user(session, username="ivan", password=PASSWORD, role="borrower",
                           clearance="internal", full_name="Ivan Insider")
        session.commit()
    return box


def test_reload_after_lend_and_return_sends_nothing_again(open_page, live_server, shelved):
    page = open_page("sam")
    page.goto(f"/boxes/{shelved}")
    due = (now().date() + timedelta(days=7)).isoformat()
    page.locator("#lend-borrower").fill("ivan")
    page.locator("#lend-due").fill(due)
    page.locator("#lend-box").click()
    page.wait_for_url(f"**/boxes/{shelved}?done=lent")
    expect(page.locator("#light-notice")).to_contain_text(f"Lent to ivan, due back {due}")
    assert _loans(live_server) == 1
    page.reload()
    expect(page.locator("#light-notice")).to_contain_text("Lent to ivan")
    assert _loans(live_server) == 1  # the reload asked for the page, it lent nothing
    page.locator("#return-box").click()
    page.wait_for_url(f"**/boxes/{shelved}?done=returned")
    expect(page.locator("#light-notice")).to_contain_text("Taken back")
    page.reload()
    expect(page.locator("#return-box")).to_have_count(0)
    with Session(live_server.engine) as session:
        assert session.exec(select(func.count()).select_from(Loan)
                            .where(Loan.returned_at.is_not(None))).one() == 1  # type: ignore[union-attr]
    page.goto(f"/boxes/{shelved}?done=lent&lang=zh")  # a key, not text: nothing to say now
    expect(page.locator("#light-notice")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text(shelved)


def test_an_error_sits_under_its_field_with_the_values_kept(open_page, live_server, shelved):
    page = open_page("sam")
    page.goto(f"/boxes/{shelved}")
    due = (now().date() + timedelta(days=5)).isoformat()
    page.locator("#lend-borrower").fill("rita")
    page.locator("#lend-due").fill(due)
    page.locator("#lend-purpose").fill("checking the minutes")
    answer = None
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#lend-box").click()
    answer = posted.value
    assert answer.status == 422
    error = page.locator("#lend-error")
    expect(error).to_contain_text("rita")  # rita's clearance is below the box's records
    # under the borrower field, not elsewhere on the page, in the error colour
    field = page.locator("#lend-borrower").bounding_box()
    box = error.bounding_box()
    assert 0 <= box["y"] - (field["y"] + field["height"]) < 80
    assert abs(box["x"] - field["x"]) < 40
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"
    expect(page.locator("#lend-borrower")).to_have_value("rita")
    expect(page.locator("#lend-borrower")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#lend-due")).to_have_value(due)
    expect(page.locator("#lend-purpose")).to_have_value("checking the minutes")
    assert _loans(live_server) == 0


def test_the_borrower_picker_offers_people_and_shows_clearance(open_page, live_server, shelved):
    page = open_page("sam")
    page.goto(f"/boxes/{shelved}")
    page.locator("#lend-borrower").fill("iv")
    expect(page.locator("#borrower-options option[value=ivan]")).to_have_count(1)
    page.locator("#lend-borrower").fill("ivan")
    card = page.locator("#borrower-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Ivan Insider")
    expect(card).to_contain_text("Internal")
    expect(card).to_have_attribute("data-above", "false")
    page.locator("#lend-borrower").fill("rit")
    expect(page.locator("#borrower-options option[value=rita]")).to_have_count(1)
    page.locator("#lend-borrower").fill("rita")
    expect(card).to_contain_text("Public")
    expect(card).to_contain_text("above their clearance")
    expect(card).to_have_attribute("data-above", "true")
    # the JSON route is the desk's only: a borrower is refused
    reader = open_page("rita")
    answer = reader.request.get("/people/borrowers?q=a", headers={"Accept": "application/json"})
    assert answer.status == 403
    page.goto(f"/boxes/{shelved}?lang=zh")
    page.locator("#lend-borrower").fill("ivan")
    expect(card).to_contain_text("密级权限")


def test_no_javascript_shelve_form_redirects_and_keeps_the_target(browser, live_server, shelved):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/signin")
        page.locator("#username").fill("sam")
        page.locator("#password").fill(PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_url(lambda url: "/signin" not in url)
        slot2 = live_server.archive.places["Slot 2"]
        page.goto("/shelve")
        page.locator("#scan").fill(slot2)
        page.locator("#scan").press("Enter")
        page.wait_for_url(f"**/shelve?target={slot2}&mode=shelve")
        expect(page.locator("#target")).to_contain_text(slot2)
        box = live_server.archive.boxes[1]
        page.locator("#scan").fill(box)
        page.locator("#scan").press("Enter")
        page.wait_for_url(f"**/shelve?target={slot2}&mode=shelve")
        expect(page.locator("#scans")).to_contain_text(box)
        page.reload()  # a reload asks for the page: the box is not moved twice
        with Session(live_server.engine) as session:
            moves = boxes.history(session, box, limit=10)[1]
        assert moves == 1
        page.locator("#scan").fill("not a code at all!")
        page.locator("#scan").press("Enter")
        expect(page.locator("#code-error")).to_be_visible()
        expect(page.locator("#scan")).to_have_value("not a code at all!")
        expect(page.locator("#target")).to_contain_text(slot2)
    finally:
        context.close()
