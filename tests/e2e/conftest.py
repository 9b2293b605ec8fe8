"""Browser tests: the real app under uvicorn on a free port, driven by Debian's Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session

from server.app import create_app
from server.models.holdings import BoxCreate, RecordCreate
from server.models.places import LocationCreate
from server.services import boxes, locations, people, records
from server.services.codes import CodeScheme

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "correct-horse-battery"



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Archive:
    """What the tests seeded: location codes by name, box codes in order, people."""

    places: dict[str, str] = field(default_factory=dict)
    boxes: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)


@dataclass
class LiveServer:
    """The running app: its URL and its database engine."""

    url: str
    engine: object
    scheme: CodeScheme
    archive: Archive
    app: object = None


def _seed(session: Session, scheme: CodeScheme) -> Archive:
    """One room with two compact shelving units, two 2-box slots, four boxes, some records."""
    archive = Archive()

    def place(name: str, kind: str, parent: str | None, **extra) -> str:
        loc = locations.create_location(
            session, LocationCreate(name=name, kind=kind, parent=parent, **extra),
            scheme=scheme, actor="test",
        )
        archive.places[name] = loc.code
        return loc.code

    room = place("Room 1", "room", None, x=0, y=0)
    unit = place("Unit 01", "unit", room, x=1, y=0)
    place("Unit 02", "unit", room, x=2, y=0)
    side = place("A", "side", unit)
    section = place("Section 1", "section", side)
    shelf = place("Shelf 1", "shelf", section)
    place("Slot 1", "slot", shelf, capacity=2)
    place("Slot 2", "slot", shelf, capacity=2)
    for _ in range(4):
        archive.boxes.append(boxes.create_box(session, BoxCreate(), scheme=scheme,
                                              actor="test").code)
    for n, (title, box) in enumerate(
        [("Minutes of the board, 1998", 0), ("关于档案工作的通知", 0), ("General ledger 2001", 1)],
        start=1,
    ):
        code = f"WS·2024·Y·{n:04d}"
        records.create_record(
            session, RecordCreate(reference_code=code, title=title, year=2024,
                                  fonds="X001", classification="internal",
                                  box=archive.boxes[box]),
            actor="test",
        )
        archive.records.append(code)
    for username, role in (("ann", "admin"), ("sam", "staff")):
        people.create_user(session, username=username, password=PASSWORD, role=role)
    session.commit()
    return archive


@pytest.fixture
def live_server(settings, db) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 in a background thread, on the seeded test database."""
    app = create_app(settings)
    with Session(app.state.engine, expire_on_commit=False) as session:
        archive = _seed(session, app.state.scheme)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start under uvicorn")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", app.state.engine, app.state.scheme, archive, app)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for the whole run (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable[..., object]]:
    """open_page(user=None, locale="en-GB", width=1280, height=800) -> a page (signed in if asked)."""
    contexts = []

    def opener(user: str | None = None, *, locale: str = "en-GB", width: int = 1280,
               height: int = 800):
        context = browser.new_context(base_url=live_server.url, locale=locale,
                                      viewport={"width": width, "height": height})
        context.set_default_timeout(20000)  # generous: CI shares 2 cores with PostgreSQL
        context.set_default_navigation_timeout(60000)  # a page load waits on the server too
        contexts.append(context)
        page = context.new_page()
        if user:
            sign_in(page, user)
        return page

    yield opener
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/signin")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")
    page.wait_for_url(lambda url: "/signin" not in url)
