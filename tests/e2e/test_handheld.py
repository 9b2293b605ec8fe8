"""The scan page on a handheld: the camera reads a printed label, a tone per result, the session
kept across reloads, and a notice when a shelf reader moves a box just shelved."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session

from labels.render import BoxLabel, label_png
from server.models.devices import DeviceCreate
from server.services import boxes, devices
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.integration.conftest import mqtt_broker, mqtt_url, topic_root  # noqa: F401 (fixtures)
from tests.integration.test_twin_over_mqtt import Device

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def settings(settings, mqtt_url, topic_root):  # noqa: F811
    """The e2e app with its device link on the session's broker (the shelf reader's news)."""
    return settings.model_copy(update={
        "devices_enabled": True, "jobs_enabled": False, "mqtt_url": mqtt_url,
        "mqtt_topic_root": topic_root, "mqtt_client_id": f"server-{uuid.uuid4().hex[:8]}",
    })


def label_video(live_server, code: str, folder: Path) -> Path:
    """The box's printed label (the project's own label code) as a Y4M camera feed."""
    with Session(live_server.engine) as session:
        box = boxes.by_code(session, code)
        label = BoxLabel(code=box.code, qr_url=live_server.scheme.qr(box.code), epc_hex=box.epc)
    art = Image.open(io.BytesIO(label_png(label, dpi=300))).convert("RGB")
    frame = Image.new("RGB", (1280, 720), "white")  # the label held up in front of the camera
    frame.paste(art, ((1280 - art.width) // 2, (720 - art.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path = folder / f"{code}.y4m"
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            out.write(b"FRAME\n" + planes)
    return path


@pytest.fixture
def camera_page(browser, live_server) -> Iterator[Callable[..., object]]:
    """camera_page(video, user="sam", init_script=None): a signed-in page in a Chromium whose
    camera shows the video file (allowed without asking) and that may play sound."""
    launched = []

    def opener(video: Path, user: str = "sam", init_script: str | None = None):
        # A Chromium of its own (its camera is the file), from the session's Playwright.
        camera = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--autoplay-policy=no-user-gesture-required",
        ])
        launched.append(camera)
        context = camera.new_context(base_url=live_server.url, locale="en-GB",
                                      viewport={"width": 412, "height": 860})
        context.set_default_timeout(20000)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        sign_in(page, user)
        return page

    yield opener
    for camera in launched:
        camera.close()


def where(live_server, code: str) -> str | None:
    with Session(live_server.engine) as session:
        return boxes.present(session, [boxes.by_code(session, code)], scheme=live_server.scheme,
                             clearance="secret")[0].location


def scan(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_the_camera_reads_a_printed_label_and_shelves_the_box(camera_page, live_server, tmp_path):
    places, codes = live_server.archive.places, live_server.archive.boxes
    page = camera_page(label_video(live_server, codes[1], tmp_path))
    page.goto("/shelve")
    scan(page, places["Slot 1"])  # the shelf's label, typed by a wedge scanner
    expect(page.locator("#scans li.action-target")).to_have_count(1)

    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator("#camera-view")).to_be_visible()
    expect(page.locator("#camera-state")).to_have_text("Camera on: hold a label in the frame.")
    moved = page.locator("#scans li.action-moved")
    expect(moved).to_have_count(1, timeout=30000)
    expect(moved).to_contain_text(codes[1])
    expect(moved).to_contain_text("Moved to Room 1 › Unit 01")
    # Chromium on Linux has no BarcodeDetector: the vendored decoder read it.
    expect(page.locator("#shelve-panel")).to_have_attribute("data-decoder", "zxing")
    expect(page.locator("#shelve-panel")).to_have_attribute("data-tone", "accepted")
    assert where(live_server, codes[1]) == places["Slot 1"]

    # The label stays in view: it is one scan, not one per frame.
    time.sleep(2.5)
    expect(page.locator("#scans li.scan")).to_have_count(2)
    page.get_by_role("button", name="Stop the camera").click()
    expect(page.locator("#camera-view")).to_be_hidden()


# A stand-in for the BarcodeDetector of Chrome on Android: it "sees" the code it was given.
NATIVE = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return %(formats)s; }
  constructor(options) { window.detectorFormats = options.formats; }
  async detect(source) { return [{ rawValue: %(code)r, format: "code_128" }]; }
};
"""


def test_the_browsers_own_detector_is_used_when_it_reads_both_formats(camera_page, live_server,
                                                                      tmp_path):
    places, codes = live_server.archive.places, live_server.archive.boxes
    video = label_video(live_server, codes[2], tmp_path)
    page = camera_page(video, init_script=NATIVE % {"formats": '["qr_code", "code_128", "ean_13"]',
                                                   "code": codes[3]})
    page.goto("/shelve")
    scan(page, places["Slot 2"])
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator("#scans li.action-moved")).to_contain_text(codes[3])
    expect(page.locator("#shelve-panel")).to_have_attribute("data-decoder", "native")
    assert page.evaluate("window.detectorFormats") == ["qr_code", "code_128"]
    assert page.evaluate("typeof window.ZXing") == "undefined"  # the fallback never loaded
    assert where(live_server, codes[3]) == places["Slot 2"]

    # A detector that cannot read Code128 is not enough: the vendored decoder reads the label.
    page = camera_page(video, init_script=NATIVE % {"formats": '["qr_code"]', "code": codes[3]})
    page.goto("/shelve")
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator("#shelve-panel")).to_have_attribute("data-decoder", "zxing")
    expect(page.locator("#scans li.scan").first).to_contain_text(codes[2], timeout=30000)


def test_a_page_without_https_says_the_camera_needs_it(open_page):
    page = open_page("sam", locale="zh-CN")
    # A phone opening the dashboard at http://its-address is not a secure context.
    page.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false});")
    page.goto("/shelve?lang=zh")
    page.get_by_role("button", name="用摄像头扫描").click()
    expect(page.locator("#camera-state")).to_contain_text("摄像头只能在 HTTPS")
    expect(page.locator("#camera-view")).to_be_hidden()


def test_a_refusal_plays_the_refusal_tone_and_mute_is_kept(camera_page, live_server, tmp_path):
    places, codes = live_server.archive.places, live_server.archive.boxes
    page = camera_page(label_video(live_server, codes[0], tmp_path))
    page.goto("/shelve")
    panel = page.locator("#shelve-panel")
    scan(page, "B09999999")
    expect(page.locator("#scans li.refused")).to_have_count(1)
    expect(panel).to_have_attribute("data-tone", "refused")
    scan(page, places["Slot 1"])
    expect(page.locator("#scans li.action-target")).to_have_count(1)
    expect(panel).to_have_attribute("data-tone", "accepted")

    page.get_by_label("Mute the tone and vibration").check()
    page.reload()
    expect(page.get_by_label("Mute the tone and vibration")).to_be_checked()
    scan(page, "B09999998")
    expect(page.locator("#scans li.refused")).to_have_count(2)
    expect(panel).to_have_attribute("data-tone", "muted")


def test_a_reload_keeps_target_mode_and_list_and_sends_nothing_again(open_page, live_server):
    places, codes = live_server.archive.places, live_server.archive.boxes
    page = open_page("sam", width=360, height=740)
    page.goto("/shelve")
    for code in (places["Slot 1"], codes[0], codes[1], "B09999999"):
        scan(page, code)
    results = page.locator("#scans li.scan")
    expect(results).to_have_count(4)
    page.locator("#mode-return").check()
    with Session(live_server.engine) as session:
        moves_before = len(boxes.history(session, codes[0])[0]) + len(boxes.history(session, codes[1])[0])

    page.reload()
    expect(results).to_have_count(4)
    expect(results.nth(0)).to_contain_text("Unknown code")
    expect(results.nth(1)).to_contain_text(codes[1])
    expect(results.nth(2)).to_contain_text(codes[0])
    expect(page.locator("#tally")).to_have_text("2 moved · 1 refused")
    expect(page.locator("#target")).to_contain_text(places["Slot 1"])
    expect(page.locator("#target-field")).to_have_value(places["Slot 1"])
    expect(page.locator("#mode-return")).to_be_checked()
    expect(page.locator("#restored")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # a phone's width
    with Session(live_server.engine) as session:
        assert len(boxes.history(session, codes[0])[0]) + len(boxes.history(session, codes[1])[0]) \
            == moves_before

    # Back to shelving, the restored target is the one in force (its two places are taken).
    page.locator("#mode-shelve").check()
    scan(page, codes[2])
    expect(results).to_have_count(5)
    expect(results.nth(0)).to_contain_text("Slot full")
    expect(results.nth(0)).to_contain_text(f"{places['Slot 1']} (Room 1 › Unit 01")
    expect(page.locator("#tally")).to_have_text("2 moved · 2 refused")


def test_a_shelf_reader_moving_a_box_just_shelved_shows_a_notice(open_page, live_server,
                                                                 settings):
    places, codes = live_server.archive.places, live_server.archive.boxes
    with Session(live_server.app.state.writer) as session:  # a write: SQLite BEGIN IMMEDIATE
        devices.register(session, DeviceCreate(id="shelf-r1", type="reader", role="shelf",
                                               antennas={"1": places["Slot 2"]}), actor="test")
        session.commit()
    page = open_page("sam")
    page.goto("/shelve")
    for code in (places["Slot 1"], codes[0], codes[1]):
        scan(page, code)
    expect(page.locator("#scans li.action-moved")).to_have_count(2)

    reader = Device(settings.mqtt_url, settings.mqtt_topic_root)
    try:
        # The reader (re-registered with the server within seconds) hears box 0 on Slot 2's
        # antenna, strongly and repeatedly: someone put it there.
        epc = _epc(live_server, codes[0])
        deadline = time.monotonic() + 30
        seq = 0
        while where(live_server, codes[0]) != places["Slot 2"]:
            assert time.monotonic() < deadline, "the reader's read did not move the box"
            seq += 1
            reader.send("readers/shelf-r1/reads", {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "seq": seq,
                "reads": [{"epc": epc, "antenna": 1, "rssi": -45.0, "count": 4}]})
            time.sleep(1)
    finally:
        reader.close()

    notice = page.locator("#scans li.moved-later")
    expect(notice).to_have_count(1)
    expect(notice).to_have_attribute("role", "alert")
    text = notice.inner_text()
    assert re.search(rf"{codes[0]} was moved to Room 1 › Unit 01 › A › Section 1 › Shelf 1 › Slot 2 "
                     r"by reader shelf-r1 at \d{1,2}:\d\d( [AP]M)?, \d+ s after you shelved it\.", text), text
    expect(page.locator("#scans li.moved-later", has_text=codes[1])).to_have_count(0)
    # The notice is part of the page's record: a reload keeps it.
    page.reload()
    expect(page.locator("#scans li.moved-later")).to_have_count(1)


def _epc(live_server, code: str) -> str:
    with Session(live_server.engine) as session:
        return boxes.by_code(session, code).epc
