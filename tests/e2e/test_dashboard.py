"""What a person notices on the dashboard: sign-in, shelving by scanner, languages, live updates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from server.services import alarms, boxes, news
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = Path("/tmp")


def _where(live_server, code: str) -> str | None:
    with Session(live_server.engine) as session:
        box = boxes.by_code(session, code)
        present = boxes.present(session, [box], scheme=live_server.scheme,
                                 clearance="secret")[0]
        return present.location


def test_pages_need_sign_in_and_sign_out_ends_it(open_page):
    page = open_page()
    page.goto("/alarms")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Falarms"))

    page.locator("#username").fill("ann")
    page.locator("#password").fill("not-the-password")
    page.locator("#password").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")

    page.locator("#password").fill("correct-horse-battery")
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/alarms$"))
    expect(page.get_by_role("heading", name="Alarms")).to_be_visible()
    session_cookie = next(c for c in page.context.cookies() if c["name"] == "archive_twin_session")
    assert session_cookie["httpOnly"] is True
    assert "archive_twin_session" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_shelving_with_a_scanner_moves_two_boxes_and_refuses_the_third(open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    page = open_page("sam", width=412, height=860)
    page.goto("/shelve")
    scan = page.locator("#scan")
    expect(scan).to_be_focused()

    # A keyboard-wedge scanner types each code and Enter, as fast as it likes.
    for code in (places["Slot 1"], codes[0], codes[1], codes[2]):
        page.keyboard.type(code)
        page.keyboard.press("Enter")

    results = page.locator("#scans li.scan")
    expect(results).to_have_count(4)
    newest = results.nth(0)
    expect(newest).to_have_class(re.compile(r"\brefused\b"))
    expect(newest).to_contain_text(codes[2])
    expect(newest).to_contain_text("Slot full")
    for i, code in ((1, codes[1]), (2, codes[0])):
        expect(results.nth(i)).to_have_class(re.compile(r"\bok\b"))
        expect(results.nth(i)).to_contain_text(code)
        expect(results.nth(i)).to_contain_text("Moved to Room 1 › Unit 01")
    expect(page.locator("#target")).to_contain_text(places["Slot 1"])
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")
    assert _where(live_server, codes[0]) == places["Slot 1"]
    assert _where(live_server, codes[1]) == places["Slot 1"]
    assert _where(live_server, codes[2]) is None

    # A new location scan switches the target; an unknown code and text that cannot be a code
    # (the server answers 422) are refused, and focus stays.
    for code in (places["Slot 2"], codes[2], "B09999999", "<<not a code>>"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(results).to_have_count(8)
    expect(results.nth(0)).to_contain_text("Not a code")
    expect(results.nth(0)).to_contain_text("cannot be a code")
    expect(results.nth(0)).to_have_attribute("data-reason", "invalid")
    expect(results.nth(1)).to_contain_text("Unknown code")
    expect(results.nth(2)).to_contain_text("Moved to Room 1 › Unit 01 › A › Section 1 › Shelf 1 › Slot 2")
    expect(page.locator("#tally")).to_have_text("3 moved · 3 refused")
    expect(page.locator("#target")).to_contain_text(places["Slot 2"])
    expect(scan).to_be_focused()
    assert _where(live_server, codes[2]) == places["Slot 2"]

    page.screenshot(path=str(SHOTS / "dashboard-shelve-en.png"), full_page=True)
    page.goto("/shelve?lang=zh")
    page.keyboard.type(places["Slot 2"])
    page.keyboard.press("Enter")
    for code in (codes[3], codes[0]):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(results.nth(1)).to_contain_text("已上架至")
    expect(results.nth(0)).to_contain_text("格位已满")
    expect(page.get_by_role("heading", name="上架")).to_be_visible()
    page.screenshot(path=str(SHOTS / "dashboard-shelve-zh.png"), full_page=True)


def test_language_switch_shows_chinese_labels(open_page):
    page = open_page("ann")
    page.goto("/")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Shelve")
    page.get_by_role("link", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    nav = page.get_by_role("navigation", name="主导航")
    for word in ("总览", "查找", "上架", "告警", "设备"):
        expect(nav).to_contain_text(word)
    expect(page.locator("#tallies")).to_contain_text("档案盒")
    expect(page.locator("#tallies")).to_contain_text("在架")
    expect(page.locator("#maps")).to_contain_text("1号库房")  # "Room 1" said in Chinese
    # The choice is remembered on the next page.
    page.goto("/find?q=1998")
    expect(page.locator("table")).to_contain_text("密级")
    expect(page.locator("table")).to_contain_text("内部")
    expect(page.locator("table")).to_contain_text("保管期限")


def test_a_chinese_browser_gets_chinese_without_asking(open_page):
    page = open_page(locale="zh-CN")
    page.goto("/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_visible()


def test_changes_on_the_feed_update_the_overview_without_reload(open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    page = open_page("ann")
    page.goto("/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "on")
    page.evaluate("window.notReloaded = true")
    alarms_tile = page.locator("[data-count='alarms']")
    on_shelf = page.locator("[data-count='status-on_shelf']")
    expect(alarms_tile).to_have_text("0")
    expect(on_shelf).to_have_text("0")

    with Session(live_server.engine, expire_on_commit=False) as session:
        boxes.move_box(session, codes[0], to=places["Slot 1"], reason="rfid",
                                device="shelf-r1")
        session.commit()
        alarms.raise_alarm(session, kind="unauthorized_removal", subject=codes[3],
                                      message=f"{codes[3]} passed the door without a loan",
                                      severity="critical")
        session.commit()
        news.tell(session, news.ClimateMeasured(
            sensor="th-1", room="Room 1", temperature_c=19.5, humidity_pct=52.0,
            ts=datetime(2025, 5, 1, 10, tzinfo=UTC)))
        session.commit()

    expect(on_shelf).to_have_text("1")
    expect(alarms_tile).to_have_text("1")
    expect(page.locator("#alarm-list")).to_contain_text("Removed without a loan")
    expect(page.locator("#moves")).to_contain_text(codes[0])
    unit = page.locator(f"#maps a[data-unit='{places['Unit 01']}']")
    expect(unit).to_have_attribute("data-fill", "25")
    expect(page.locator("#climate")).to_contain_text("19.5 °C")
    assert page.evaluate("window.notReloaded") is True

    page.screenshot(path=str(SHOTS / "dashboard-overview-en.png"), full_page=True)
    page.goto("/?lang=zh")
    expect(page.locator("#tallies")).to_contain_text("活动告警")
    page.screenshot(path=str(SHOTS / "dashboard-overview-zh.png"), full_page=True)


def test_clearing_an_alarm_takes_it_off_the_list(open_page, live_server):
    with Session(live_server.engine) as session:
        alarms.raise_alarm(session, kind="climate", subject="Room 1",
                           message="humidity 68 % for 3 h", severity="warning")
        session.commit()
    page = open_page("ann")
    page.goto("/alarms")
    expect(page.locator("#alarm-list")).to_contain_text("humidity 68 %")
    page.get_by_role("button", name=re.compile("Clear alarm .*Room 1")).click()
    expect(page.locator("#alarm-list")).to_contain_text("No alarms here.")
    page.get_by_role("link", name="Cleared").click()
    expect(page.locator("#alarm-list")).to_contain_text("by ann")


def test_find_resolves_a_qr_url_and_searches_text(open_page, live_server):
    codes, places = live_server.archive.boxes, live_server.archive.places
    with Session(live_server.engine) as session:
        boxes.move_box(session, codes[0], to=places["Slot 2"], reason="manual", user="ann")
        session.commit()
    page = open_page("sam")
    page.goto("/find")
    box = page.get_by_label("Scan or type a code, or words to search records")
    expect(box).to_be_focused()
    page.keyboard.type(f"  http://archive.test/s/{codes[0]}  ")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/boxes/{codes[0]}$"))
    expect(page.get_by_role("heading", name=f"Box {codes[0]}")).to_be_visible()
    expect(page.get_by_role("navigation", name="Path")).to_contain_text("Slot 2")
    expect(page.locator("#records-h")).to_contain_text("(2)")
    expect(page.locator("#box")).to_contain_text("关于档案工作的通知")
    expect(page.locator("#history-h + ol")).to_contain_text("Manual")

    page.goto("/find")
    page.keyboard.type("ledger")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="1 record found")).to_be_visible()
    page.get_by_role("link", name="WS·2024·Y·0003").click()
    expect(page.get_by_role("heading", name="General ledger 2001")).to_be_visible()

    page.goto("/find?q=B07777777")
    expect(page.get_by_role("status")).to_contain_text("nothing is registered")
