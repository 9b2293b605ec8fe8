"""Bar charts drawn on the server as inline SVG: no script, readable by screen readers.

A chart is horizontal bars, one line per value, with the label on the left and the value at
the bar's end, so that long and Chinese labels fit and the chart scales down to a phone (it
is drawn in a viewBox and takes the width it is given). The text uses the page's fonts (the
SVG is inline), which include the Chinese face. Each chart has a <title> and <desc>, each bar
its own <title> with the label and the value.

Used by the statistics pages; the climate pages can draw time in band with the same call.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

# Drawn narrow, so that on a 360 px phone the text is still ~11 px; pages cap its width.
WIDTH = 320
ROW = 24
BAR = 14
PAD = 6
FONT = 12
LABEL_MAX_EM = 9  # labels longer than this many em are cut with an ellipsis (full in <title>)
VALUE_ROOM_EM = 6
COLOURS = ("#1f5f8b", "#2f7d4f", "#8a5a00", "#7a3e9d", "#b3261e", "#3d6f73")
TRACK = "#e4e8ec"


@dataclass(frozen=True)
class Bar:
    """One bar: what it is, how long, and optionally the whole it is part of (e.g. capacity)."""

    label: str
    value: float
    text: str | None = None  # the value as shown; the number itself when not given
    limit: float | None = None  # drawn as a light track behind the bar


def em_width(text: str) -> float:
    """How wide text is in em: wide (CJK) characters 1 em, the others about 0.6 em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def _cut(text: str, em: float) -> str:
    if em_width(text) <= em:
        return text
    chars = list(text)
    while chars and em_width("".join(chars)) > em - 1:
        chars.pop()
    return "".join(chars).rstrip() + "…"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(bars: Sequence[Bar], *, ident: str, title: str, description: str,
              empty: str = "—", colour: int = 0) -> Markup:
    """An SVG bar chart of these bars (largest value sets the scale), as markup for a page."""
    ident = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in ident)
    label_em = min(LABEL_MAX_EM, max((em_width(b.label) for b in bars), default=4))
    left = PAD + label_em * FONT * 0.95 + PAD
    room = WIDTH - left - VALUE_ROOM_EM * FONT * 0.6 - PAD
    scale = max((max(b.value, b.limit or 0) for b in bars), default=0) or 1
    height = max(1, len(bars)) * ROW + 2 * PAD
    fill = COLOURS[colour % len(COLOURS)]
    parts = [
        Markup('<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
               'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet" '
               'aria-labelledby="{i}-title {i}-desc" id="{i}" '
               'font-size="{f}" font-family="inherit">').format(w=WIDTH, h=height, i=ident, f=FONT),
        Markup('<title id="{}-title">{}</title>').format(ident, title),
        Markup('<desc id="{}-desc">{}</desc>').format(ident, description),
    ]
    if not bars:
        parts.append(Markup('<text x="{}" y="{}" fill="#5b6570">{}</text>').format(
            PAD, PAD + FONT, empty))
    for row, bar in enumerate(bars):
        top = PAD + row * ROW
        middle = top + ROW / 2
        shown = bar.text if bar.text is not None else _number(bar.value)
        length = room * max(bar.value, 0) / scale
        parts.append(Markup('<g class="bar"><title>{}: {}</title>').format(bar.label, shown))
        parts.append(Markup(
            '<text x="{x}" y="{y}" text-anchor="end" dominant-baseline="central" '
            'fill="#1b1f24">{t}</text>').format(x=left - PAD, y=middle,
                                                t=_cut(bar.label, label_em)))
        if bar.limit:
            parts.append(Markup(
                '<rect x="{x}" y="{y}" width="{w:.1f}" height="{h}" rx="2" fill="{c}"/>').format(
                x=left, y=middle - BAR / 2, w=room * bar.limit / scale, h=BAR, c=TRACK))
        parts.append(Markup(
            '<rect x="{x}" y="{y}" width="{w:.1f}" height="{h}" rx="2" fill="{c}"/>').format(
            x=left, y=middle - BAR / 2, w=length, h=BAR, c=fill))
        end = left + max(length, room * (bar.limit or 0) / scale)
        parts.append(Markup(
            '<text x="{x:.1f}" y="{y}" dominant-baseline="central" fill="#1b1f24" '
            'class="value">{t}</text></g>').format(x=end + PAD, y=middle, t=shown))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)

