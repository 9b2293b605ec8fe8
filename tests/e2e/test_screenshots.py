"""A screenshot of each main page, in English and Chinese, on a laptop and a phone, saved under
var/screenshots/ for CI to keep; each page must answer 200 and show its main heading."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SCREENS = {"laptop": (1366, 900), "phone": (360, 740)}


@pytest.fixture
def furnished(live_server) -> dict[str, str]:
    """Boxes on shelves, one lent, an alarm: pages with something in them. Name -> path."""
    from datetime import timedelta

    from server.clock import now
    from server.models.loans import LoanCreate
    from server.services import alarms, boxes, loans

    a = live_server.archive
    with Session(live_server.engine) as session:
        for box, slot in zip(a.boxes[:3], ("Slot 1", "Slot 1", "Slot 2"), strict=True):
            boxes.move_box(session, box, to=a.places[slot], user="ann")
        loans.lend(session, a.boxes[2], LoanCreate(borrower="sam", due_on=now().date()
                                                   + timedelta(days=7)), actor="ann")
        alarms.raise_alarm(session, kind="humidity_high", subject=a.places["Room 1"],
                           message="Room 1: 68 %RH")
        session.commit()
    room = a.places["Room 1"]
    return {
        "overview": "/", "find": "/find?q=ledger", "box": f"/boxes/{a.boxes[0]}",
        "location": f"/locations/{a.places['Shelf 1']}", "room-plan": f"/rooms/{room}/plan",
        "unit-plan": f"/rooms/{room}/plan?unit={a.places['Unit 01']}", "shelve": "/shelve",
        "loans": "/loans", "alarms": "/alarms", "climate": "/climate", "devices": "/devices",
        "statistics": "/statistics", "desk": "/desk", "requests": "/requests",
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_each_main_page_answers_and_is_photographed(open_page, furnished, screen, lang):
    width, height = SCREENS[screen]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page("ann", locale="zh-CN" if lang == "zh" else "en-GB", width=width,
                     height=height)
    for name, path in furnished.items():
        answer = page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
        heading = page.locator("main h1").first
        expect(heading).to_be_attached()
        assert heading.inner_text().strip(), f"{path} has an empty main heading"
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}x{height}.png"), full_page=True)
