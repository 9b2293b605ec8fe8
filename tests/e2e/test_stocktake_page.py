"""A stocktake on the dashboard: started from a location, counted on the handheld page, applied."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session

from server.services import boxes
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = Path("/tmp")


def _where(live_server, code: str) -> str | None:
    with Session(live_server.engine) as session:
        box = boxes.by_code(session, code)
        return boxes.present(session, [box], scheme=live_server.scheme,
                             clearance="top_secret")[0].location


def _type(page, *codes: str) -> None:
    for code in codes:  # a keyboard-wedge scanner: the code, then Enter
        page.keyboard.type(code)
        page.keyboard.press("Enter")


def test_a_stocktake_counted_on_the_handheld_page_moves_nothing_until_applied(
        open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    with Session(live_server.app.state.writer) as session:
        for code, slot in ((codes[0], "Slot 1"), (codes[1], "Slot 1"), (codes[2], "Slot 2")):
            boxes.move_box(session, code, to=places[slot], user="ann")
        session.commit()

    page = open_page("sam", width=412, height=900)
    page.goto(f"/locations/{places['Shelf 1']}")
    page.get_by_role("button", name="Start a stocktake here").click()
    expect(page).to_have_url(re.compile(r"/stocktakes/\d+$"))
    expect(page.locator("#stocktake-count")).to_contain_text("0 seen · 3 expected")
    page.get_by_role("link", name="Count with the handheld page").click()
    expect(page).to_have_url(re.compile(r"/shelve\?mode=stocktake&stocktake=\d+"))
    expect(page.get_by_role("heading", name="Stocktake: count")).to_be_visible()
    scan = page.locator("#scan")
    expect(scan).to_be_focused()

    _type(page, places["Slot 2"], codes[0], codes[0], codes[2], places["Slot 1"], codes[1])
    results = page.locator("#scans li.scan")
    expect(results).to_have_count(6)
    expect(results.nth(0)).to_contain_text("In place: Room 1 › Unit 01 › A › Section 1 › Shelf 1 › Slot 1")
    expect(results.nth(1)).to_contain_text("Counting at Room 1")
    expect(results.nth(2)).to_contain_text("In place")
    expect(results.nth(3)).to_contain_text("Counted already")
    expect(results.nth(3)).to_have_class(re.compile(r"\baction-duplicate\b"))
    expect(results.nth(4)).to_contain_text("the twin has it at Room 1 › Unit 01 › A › Section 1 › Shelf 1 › Slot 1")
    expect(results.nth(4)).to_have_class(re.compile(r"\bverdict-misplaced\b"))
    expect(page.locator("#tally")).to_have_text("3 counted · 1 duplicates · 0 refused")
    expect(page.locator("#target")).to_contain_text(places["Slot 1"])
    assert _where(live_server, codes[0]) == places["Slot 1"]  # counted, not moved
    page.screenshot(path=str(SHOTS / "dashboard-stocktake-en.png"), full_page=True)

    # in Chinese: a box the twin has nowhere is not expected here
    page.goto(page.url + "&lang=zh")
    expect(page.get_by_role("heading", name="盘点：清点")).to_be_visible()
    _type(page, places["Slot 1"], codes[3], "B09999999")
    expect(results.nth(0)).to_contain_text("未知编码")
    expect(results.nth(1)).to_contain_text("不应在此")
    expect(results.nth(1)).to_have_class(re.compile(r"\bverdict-unexpected\b"))
    expect(results.nth(2)).to_contain_text("正在清点")
    # the page's session goes on in the new language: its count includes the scans before
    expect(page.locator("#tally")).to_have_text("已清点 4 · 重复 1 · 被拒 1")
    page.screenshot(path=str(SHOTS / "dashboard-stocktake-zh.png"), full_page=True)

    page.goto(page.locator("#stocktake-result").get_attribute("href") + "?lang=en")
    expect(page.locator("#group-found")).to_contain_text(codes[1])
    expect(page.locator("#group-found")).to_contain_text(codes[2])
    expect(page.locator("#group-misplaced")).to_contain_text(codes[0])
    expect(page.locator("#group-unexpected")).to_contain_text(codes[3])
    expect(page.locator("#group-duplicates")).to_contain_text(codes[0])
    expect(page.locator("#group-missing")).to_contain_text("Missing (0)")
    page.screenshot(path=str(SHOTS / "dashboard-stocktake-result.png"), full_page=True)
    page.get_by_role("button", name="Apply the result").click()
    expect(page.locator("#stocktake-done")).to_contain_text("Applied")
    expect(page.locator("#stocktake-count")).to_contain_text("2 moved · 0 marked missing")
    expect(page.get_by_role("button", name="Apply the result")).to_have_count(0)
    assert _where(live_server, codes[0]) == places["Slot 2"]
    assert _where(live_server, codes[3]) == places["Slot 1"]
    with page.expect_download() as download:
        page.locator("#report-csv").click()
    assert "misplaced" in Path(download.value.path()).read_text(encoding="utf-8-sig")
