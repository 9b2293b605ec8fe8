"""The room plan: units drawn where they stand, coloured by how full they are, clicked down to a
slot, with alarm badges, kept live as boxes move and alarms open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from devices.events import SensorEvent
from server.clock import now
from server.ingest import Ingest
from server.models.devices import DeviceCreate
from server.services import boxes, devices
from server.services.climate_rules import Rules
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect

NESTED = ("document.querySelectorAll('a a, a button, button a, button button, "
          "[role=img] a, [role=img] button').length")


def _shelve(live_server, box: str, slot: str) -> None:
    with Session(live_server.engine) as session:
        boxes.move_box(session, box, to=live_server.archive.places[slot], user="test")
        session.commit()


def test_plan_draws_units_by_position_and_clicks_down_to_a_slot(open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    _shelve(live_server, codes[0], "Slot 1")
    _shelve(live_server, codes[1], "Slot 1")
    page = open_page("ann")
    page.goto("/")
    caption = page.locator("#maps figcaption").get_by_role("link", name="Room 1")
    expect(caption).to_have_attribute("href", f"/rooms/{places['Room 1']}/plan")
    assert page.evaluate(NESTED) == 0
    caption.click()
    expect(page.locator("h1")).to_contain_text("Plan of Room 1")
    assert page.evaluate(NESTED) == 0
    one = page.locator(f"svg a[data-unit='{places['Unit 01']}']")
    two = page.locator(f"svg a[data-unit='{places['Unit 02']}']")
    # Unit 01 stands at x=1, Unit 02 at x=2: left of it, in the same row
    b1, b2 = one.locator("rect.unit").bounding_box(), two.locator("rect.unit").bounding_box()
    assert b1["x"] < b2["x"] and b1["y"] == b2["y"]
    expect(one).to_have_attribute("data-fill", "50")
    expect(one).to_have_attribute("data-band", "some")
    expect(two).to_have_attribute("data-band", "unknown")  # no capacity stated: not "empty"
    expect(one).to_have_attribute("aria-label", "Unit 01: 2 of 4 boxes (50% full) · "
                                  "Room to spare (under 75 %)")
    expect(page.locator(".plan-legend li")).to_have_count(6)  # five bands and the alarm badge
    one.click()
    page.wait_for_url(f"**/rooms/{places['Room 1']}/plan?unit={places['Unit 01']}")
    assert page.evaluate(NESTED) == 0
    slot1 = page.locator(f"svg a[data-place='{places['Slot 1']}']")
    slot2 = page.locator(f"svg a[data-place='{places['Slot 2']}']")
    expect(slot1).to_have_attribute("data-band", "full")
    expect(slot2).to_have_attribute("data-band", "empty")
    assert slot1.get_attribute("data-colour") != slot2.get_attribute("data-colour")
    expect(slot1.locator("rect.hatch")).to_have_count(1)  # full is hatched, not only red
    expect(page.locator(f"svg a[data-place='{places['Section 1']}']")).to_be_visible()
    expect(page.locator(f"svg a[data-place='{places['Shelf 1']}']")).to_be_visible()
    slot1.click()
    page.wait_for_url(f"**/locations/{places['Slot 1']}")
    expect(page.locator("h1")).to_contain_text("Slot 1")
    expect(page.locator("#plan-link")).to_have_attribute(
        "href", f"/rooms/{places['Room 1']}/plan?unit={places['Unit 01']}")
    page.goto(f"/rooms/{places['Room 1']}/plan?lang=zh")
    expect(page.locator("h1")).to_contain_text("1号库房平面图")  # "Room 1" said in Chinese
    assert page.goto(f"/rooms/{places['Unit 01']}/plan").status == 404


def test_plan_follows_boxes_and_alarms_live(open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    room = places["Room 1"]
    _shelve(live_server, codes[0], "Slot 1")
    with Session(live_server.engine) as session:
        devices.register(session, DeviceCreate(id="leak-1", type="sensor", room=room), actor="t")
        session.commit()
    page = open_page("ann")
    page.goto(f"/rooms/{room}/plan")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "on")
    one = page.locator(f"svg a[data-unit='{places['Unit 01']}']")
    expect(one).to_have_attribute("data-fill", "25")
    expect(page.locator("#room-alarms .alarm-count")).to_have_count(0)
    # a box shelved elsewhere (by someone else) fills the unit, without a reload
    _shelve(live_server, codes[1], "Slot 2")
    _shelve(live_server, codes[2], "Slot 2")
    expect(one).to_have_attribute("data-fill", "75")
    expect(one).to_have_attribute("data-band", "nearly")
    expect(one.locator("rect.hatch")).to_have_count(1)
    # a water leak reported by the room's sensor, through the ingest path devices use
    ingest = Ingest(live_server.engine, scheme=live_server.scheme, status_ttl_s=0,
                    climate_rules=Rules(stale_s=900))
    ingest.start()
    try:
        ingest.submit(SensorEvent("leak-1", now() - timedelta(seconds=5), 1, "leak", True))
        assert ingest.drain()
        expect(page.locator("#room-alarms .alarm-count")).to_contain_text("1 open alarm")
        # the dry floor clears it, and the badge goes
        ingest.submit(SensorEvent("leak-1", now() - timedelta(seconds=1), 2, "leak", False))
        assert ingest.drain()
    finally:
        ingest.stop()
    expect(page.locator("#room-alarms .alarm-count")).to_have_count(0)
    assert page.evaluate(NESTED) == 0
