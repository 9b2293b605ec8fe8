"""The statistics page in a real browser: charts drawn, no sideways scrolling on a phone."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 900)])
@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_statistics_fit_the_screen_in_both_languages(open_page, width, height, locale):
    page = open_page("sam", locale=locale, width=width, height=height)
    page.goto("/statistics")
    heading = "统计分析" if locale == "zh-CN" else "Statistics"
    assert page.locator("h1").inner_text() == heading
    assert page.locator("svg.chart").count() == 9
    # each chart has its accessible name; the three records are all of 2024: one bar by year
    chart = page.locator("#chart-holdings-year")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("g.bar").count() == 1
    box = chart.bounding_box()
    assert box is not None and box["width"] <= width
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    page.screenshot(path=f"var/screenshots/statistics-{locale}-{width}.png", full_page=True)
