"""Every dashboard page fits a phone (360 px) and a laptop (1366 px) without sideways scrolling,
in English and in Chinese: a page that scrolls sideways hides its last column on a handheld."""

from __future__ import annotations

import pytest

from tests.e2e import walk

SCREENS = {"phone": (360, 740), "laptop": (1366, 900)}


@pytest.fixture
def lent(live_server) -> dict[str, str]:
    """A loan, a stocktake and a request, so pages have rows to fit (see tests/e2e/walk.py)."""
    return walk.one_of_each(live_server)


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_no_page_scrolls_sideways(open_page, live_server, lent, screen, locale):
    width, height = SCREENS[screen]
    page = open_page("ann", locale=locale, width=width, height=height)
    too_wide = {}
    for path in walk.pages(live_server, lent):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            culprits = page.evaluate("""(w) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                  + (e.className ? '.' + String(e.className).split(' ')[0] : ''))""", width)
            too_wide[path] = (overflow, culprits)
    assert not too_wide, f"pages wider than {width} px: {too_wide}"
