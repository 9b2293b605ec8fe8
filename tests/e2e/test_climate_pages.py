"""What facilities staff notice on the climate pages: one line per room, the room's page,
acknowledging and clearing with notes, in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from server.clock import now
from server.models.devices import DeviceCreate
from server.services import alarms, climate, devices, locations, news, people
from tests.e2e.conftest import CHROMIUM, PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def room_1(live_server):
    """Room 1 with two sensors, one of them reading damp; a facilities person."""
    code = live_server.archive.places["Room 1"]
    with Session(live_server.engine) as session:
        room = locations.by_code(session, code)
        for sensor in ("th-1", "th-2"):
            devices.register(session, DeviceCreate(id=sensor, type="sensor", room=code),
                             actor="t")
        at = now() - timedelta(minutes=2)
        rows = [(s, room.id, at - timedelta(minutes=5 * i), t, h)
                for i in range(24) for s, t, h in (("th-1", 20.7, 48.0), ("th-2", 21.1, 68.0))]
        climate.store(session, rows)
        people.create_user(session, username="fay", password=PASSWORD, role="facilities")
        session.commit()
    return code


def test_overview_shows_one_line_per_room_and_live_readings_keep_it_one(
        open_page, live_server, room_1):
    page = open_page("ann")
    page.goto("/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "on")
    lines = page.locator("#climate li[data-key]")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("2 sensors")
    expect(lines.first).to_contain_text("20.9 °C · 58 %RH")  # the median of 48 and 68
    with Session(live_server.engine) as session:
        for sensor, t, h in (("th-1", 20.5, 50.0), ("th-2", 21.5, 70.0)):
            news.tell(session, news.ClimateMeasured(sensor=sensor, room="Room 1",
                                                    temperature_c=t, humidity_pct=h, ts=now()))
        session.commit()
    expect(lines.first).to_contain_text("21.0 °C · 60 %RH")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("In band")
    with Session(live_server.engine) as session:  # an alarm about the room turns its state
        alarms.raise_alarm(session, kind="humidity_high", subject=room_1, message="damp")
        session.commit()
    expect(lines.first).to_contain_text("Alarm")


def test_room_page_shows_sensors_band_chart_and_metrics(open_page, live_server, room_1):
    page = open_page("fay")
    page.goto(f"/climate/{room_1}")
    expect(page.locator("#sensors")).to_contain_text("th-1")
    expect(page.locator("#sensors")).to_contain_text("th-2")
    expect(page.locator("#room-median")).to_contain_text("58 %RH")
    expect(page.locator("#band")).to_contain_text("45–60 %RH")
    expect(page.locator("#charts svg rect.band")).to_have_count(2)
    expect(page.locator("#charts svg polyline.reading")).not_to_have_count(0)
    expect(page.locator("#metrics")).to_contain_text("TWPI")
    page.get_by_role("link", name="Week").click()
    expect(page.locator("#charts svg")).to_have_count(2)
    with page.expect_download() as got:
        page.get_by_role("link", name="CSV").click()
    assert got.value.suggested_filename.endswith(".csv")
    page.goto(f"/climate/{room_1}?lang=zh")
    expect(page.locator("h1")).to_contain_text("温湿度")
    expect(page.locator("#metrics")).to_contain_text("平衡含水率")


def test_acknowledge_with_a_note_and_a_critical_clear_needs_an_archivist(
        open_page, live_server, room_1):
    with Session(live_server.engine) as session:
        alarms.raise_alarm(session, kind="leak", subject=room_1, severity="critical",
                           message="Room 1: water leak reported by sensor leak-1")
        session.commit()
    page = open_page("fay")
    page.goto("/alarms")
    item = page.locator("#alarm-list li.alarm").first
    expect(item).to_contain_text("Water leak")
    item.locator("input[name=note]").first.fill("on my way with a mop")
    page.get_by_role("button", name=re.compile("Acknowledge alarm")).click()
    expect(page.locator("#alarm-list")).to_contain_text("Acknowledged by fay")
    expect(page.locator("#alarm-list")).to_contain_text("on my way with a mop")
    page.locator("#alarm-list li.alarm input[name=note]").last.fill("dry now")
    page.get_by_role("button", name=re.compile("Clear alarm")).click()
    expect(page.locator(".notice")).to_contain_text("archivist")
    admin = open_page("ann")
    admin.goto("/alarms?lang=zh")
    expect(admin.locator("#alarm-list")).to_contain_text("漏水")
    admin.locator("#alarm-list li.alarm input[name=note]").last.fill("pipe fixed")
    admin.get_by_role("button", name=re.compile("清除告警")).click()
    expect(admin.locator("#alarm-list")).not_to_contain_text("漏水")
    admin.goto("/alarms?state=cleared&lang=en")
    expect(admin.locator("#alarm-list")).to_contain_text("by ann")
    expect(admin.locator("#alarm-list")).to_contain_text("pipe fixed")
