"""The Content-Security-Policy as a browser enforces it: the pages work and nothing is refused."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)


def test_the_pages_run_under_the_policy_without_a_violation(open_page, live_server):
    page = open_page("ann")
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    for path in ("/", "/find", "/shelve", "/alarms", "/devices", "/loans"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        assert answer.headers["x-frame-options"] == "DENY"
    page.goto("/")
    page.wait_for_load_state("networkidle")
    widths = page.eval_on_selector_all("svg[data-max-width]",
                                       "els => els.map(e => e.style.maxWidth)")
    assert widths and all(w.endswith("px") for w in widths)  # set by the script, not inline
    assert refused == []
