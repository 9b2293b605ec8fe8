"""A room's climate drawn as SVG on the server: the allowed band shaded, the room's line over it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 26
BUCKETS = 240  # at most this many points on a line, whatever the period


def buckets(points: Sequence[tuple[datetime, float, float]], since: datetime, until: datetime
            ) -> list[tuple[datetime, float, float]]:
    """Average (ts, t, rh) points into at most BUCKETS time buckets (empty buckets: a gap)."""
    step = (until - since) / BUCKETS
    sums: dict[int, list[float]] = {}
    for ts, t, rh in points:
        i = int((ts - since) / step)
        if 0 <= i < BUCKETS:
            acc = sums.setdefault(i, [0.0, 0.0, 0.0])
            acc[0] += t
            acc[1] += rh
            acc[2] += 1
    return [(since + step * (i + 0.5), a[0] / a[2], a[1] / a[2]) for i, a in sorted(sums.items())]


def chart(points: Sequence[tuple[datetime, float]], *, since: datetime, until: datetime,
          band: tuple[float, float], unit: str, title: str, scale: tuple[float, float]) -> Markup:
    """One line chart with the band shaded; a gap in the readings is a gap in the line."""
    lo = min([scale[0], band[0] - 2, *(v for _, v in points)])
    hi = max([scale[1], band[1] + 2, *(v for _, v in points)])
    span_s = max((until - since).total_seconds(), 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(ts: datetime) -> float:
        return LEFT + (ts - since).total_seconds() / span_s * inner_w

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * inner_h

    gap = timedelta(seconds=span_s / BUCKETS * 2.5)
    paths, current, last = [], [], None
    for ts, v in points:
        if last is not None and ts - last > gap and current:
            paths.append(current)
            current = []
        current.append(f"{x(ts):.1f},{y(v):.1f}")
        last = ts
    if current:
        paths.append(current)
    lines = "".join(
        f'<polyline class="reading" points="{" ".join(p)}" fill="none" stroke="#1f5fbf" '
        f'stroke-width="1.6"/>' if len(p) > 1 else
        f'<circle class="reading" cx="{p[0].split(",")[0]}" cy="{p[0].split(",")[1]}" r="2" '
        f'fill="#1f5fbf"/>'
        for p in paths)
    ticks = []
    for v in sorted({band[0], band[1], round(lo), round(hi)}):
        ticks.append(f'<text x="{LEFT - 4}" y="{y(v) + 3:.1f}" text-anchor="end" '
                     f'font-size="10">{v:g}</text>')
    labels = []
    for i in range(5):
        ts = since + (until - since) * i / 4
        fmt = "%H:%M" if span_s <= 2 * 86400 else "%m-%d"
        labels.append(f'<text x="{x(ts):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                      f'font-size="10">{ts.strftime(fmt)}</text>')
    return Markup(
        f'<svg class="climate-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>'
        f'<rect class="band" x="{LEFT}" y="{y(band[1]):.1f}" width="{inner_w}" '
        f'height="{y(band[0]) - y(band[1]):.1f}" fill="#cfe9cf"/>'
        f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="none" '
        f'stroke="#888" stroke-width="0.8"/>'
        f'<text x="4" y="{TOP + 8}" font-size="10">{escape(unit)}</text>'
        + "".join(ticks) + "".join(labels) + lines + "</svg>")
