"""Every dashboard page in Chinese says no English word outside codes and names.

Rendered over HTTP from the real app (no browser needed to read text), signed in as an admin,
with something on every page: a loan, a request, an alarm, a stocktake, search results.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.e2e import walk
from tests.e2e.conftest import PASSWORD

# Words that are English in Chinese text too: acronyms and units of the trade.
ALLOWED = {"RFID", "QR", "EPC", "PDF", "CSV", "XLSX", "ZPL", "MQTT", "API", "DA", "T", "JGJ",
           "GB", "SVG", "UHF", "HF", "ID", "URL", "SSE", "RH", "C", "OK", "SQL", "GS1", "GIAI",
           "SGLN", "HTTP", "HTTPS", "JSON", "PNG", "XML", "TIFF", "JPEG", "OFD", "Code128",
           "PI", "TWPI", "h", "s", "min", "English", "YYYY", "MM", "DD", "IP", "PM", "AM", "UTC", "A", "B",
           "EEP", "Excel"}
# Words that are in the seeded archive's own data (titles, purposes, names, usernames): the
# data is what it is in every language.
SEEDED = re.compile(
    r"Minutes of the board|General ledger|ledger check|audit of the 2001 general ledger and "
    r"its supporting vouchers|Records Office, Finance Dept\.|ouyang\.xiaoling\.records-office|"
    r"\bann\b|\bsam\b|Room \d|X001|archive-twin")
# Codes: box and location codes, reference codes (WS·2024·Y·0001), device ids, hex.
# (No \b around box codes: Chinese text runs on, "L00000007的标签", with no space.)
CODES = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,3}\d{4,}(?![A-Za-z0-9])|[A-Z]{1,4}·\d{4}·[A-Z0-9]+·\d+|\b[a-z]+-[a-z0-9-]+\b"
                   r"|\b[0-9A-F]{8,}\b|\S+@\S+|https?://\S+"
                   # a file name's extension ("目录（第一批）.csv"): the name is data
                   r"|(?<=\S)\.(?:csv|xlsx|xls|pdf|zpl|png|json)(?![A-Za-z0-9])")
# Whole tokens allowed although WORD would split them: "UTF-8" would leave "UTF-".
ALLOWED_TOKENS = re.compile(r"(?<![A-Za-z0-9])(?:UTF-8|Code128)(?![A-Za-z0-9])")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|[A-Za-z]")
HIDDEN = {"script", "style", "template"}
# Codes shown as codes (a stored field name, a file extension): their content is data, not prose.
CODE_TAGS = {"code", "kbd", "samp"}
SHOWN_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")


class _Text(HTMLParser):
    """The text a person sees or hears on a page: text nodes and the labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN or tag in CODE_TAGS:
            self._hidden += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if (tag in HIDDEN or tag in CODE_TAGS) and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data)


def english_left(html: str) -> set[str]:
    """English words in a page's visible text, codes, names and allowed acronyms taken out."""
    reader = _Text()
    reader.feed(html)
    text = "\n".join(reader.parts)
    text = CODES.sub(" ", SEEDED.sub(" ", ALLOWED_TOKENS.sub(" ", text)))
    return {w for w in WORD.findall(text) if w not in ALLOWED}


@pytest.fixture
def with_everything(live_server) -> dict[str, str]:
    """One of each thing pages show, an open alarm among them (a reader gone silent)."""
    from sqlmodel import Session

    from server.clock import now
    from server.models.devices import Device
    from server.services import devices

    seeded = walk.one_of_each(live_server)
    with Session(live_server.engine) as session:
        reader = session.get(Device, "shelf-reader-room1-unit01-side-a")
        assert reader is not None
        # the watchdog's own path, so the alarm keeps its wording as real ones do
        assert devices.mark_state(session, reader, "offline", at=now(), decided=True)
        session.commit()
    return seeded


def test_chinese_pages_say_no_english(live_server, with_everything):
    with httpx.Client(base_url=live_server.url, headers={"Accept-Language": "zh-CN"},
                      timeout=30) as client:
        signed = client.post("/signin", data={"username": "ann", "password": PASSWORD},
                             headers={"Origin": live_server.url})
        assert signed.status_code == 303, signed.text
        left: dict[str, set[str]] = {}
        for path in walk.pages(live_server, with_everything):
            if path.startswith(("/docs", "/redoc", "/openapi")):  # FastAPI's own API pages
                continue
            answer = client.get(path, follow_redirects=True)
            assert answer.status_code == 200, f"{path}: {answer.status_code}"
            assert 'lang="zh-Hans"' in answer.text, path
            words = english_left(answer.text)
            if words:
                left[path] = words
    assert not left, "English words on Chinese pages: " + "; ".join(
        f"{p}: {sorted(w)}" for p, w in sorted(left.items()))


def test_dates_follow_the_language_switch_not_the_browser(open_page, live_server, with_everything):
    page = open_page("ann", locale="en-US")
    page.goto("/loans?lang=zh")
    lent = page.locator("main time").first
    assert "年" in lent.inner_text()  # 2026年12月2日 13:04, not "Dec 2, 2026, 1:04 PM"
    assert lent.get_attribute("datetime").endswith("+08:00")  # the archive's zone, Asia/Shanghai
    page.goto("/loans?lang=en")
    assert "年" not in page.locator("main time").first.inner_text()
