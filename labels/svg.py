"""SVG output: one label in mm units, text drawn as glyph outlines.

Text is set as outlines of the bundled font (each glyph defined once and placed with <use>), so
Chinese shows the same in any viewer, printer driver or cutter software, with or without a
Chinese font installed. Each text group carries the text itself as its aria-label.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from labels.artwork import Artwork, Bars, Frame, QRCode, Text
from labels.barcodes import dark_runs
from labels.typefaces import bold_covers, outlines


def _n(value: float) -> str:
    """A coordinate with at most 3 decimals and no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Glyphs:
    """The <defs> of one document: each glyph's outline once, under a short id."""

    def __init__(self) -> None:
        self.ids: dict[tuple[bool, str], str] = {}
        self.defs: list[str] = []

    def use(self, ch: str, bold: bool) -> tuple[str, int]:
        name, path, advance = outlines(bold).glyph(ch)
        key = (bold, name)
        if key not in self.ids:
            self.ids[key] = f"g{len(self.ids)}"
            if path:
                self.defs.append(f'<path id="{self.ids[key]}" d="{path}"/>')
        return (self.ids[key] if path else ""), advance


def _text(item: Text, glyphs: _Glyphs) -> str:
    bold = item.bold and bold_covers(item.text)
    font = outlines(bold)
    scale = item.size / font.units_per_em
    uses, advance = [], 0
    for ch in item.text:
        glyph_id, width = glyphs.use(ch, bold)
        if glyph_id:
            uses.append(f'<use xlink:href="#{glyph_id}" x="{advance}"/>')
        advance += width
    return (
        f"<g aria-label={quoteattr(item.text)} "
        f'transform="translate({_n(item.x)} {_n(item.y)}) scale({scale:.6g} {-scale:.6g})">'
        + "".join(uses)
        + "</g>"
    )


def _rects(runs: list[tuple[float, float, float, float]]) -> str:
    return "".join(f"M{_n(x)} {_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z" for x, y, w, h in runs)


def paint_svg(art: Artwork) -> str:
    """art as a stand-alone SVG document sized in mm."""
    glyphs = _Glyphs()
    body: list[str] = []
    dark: list[tuple[float, float, float, float]] = []
    for item in art.items:
        if isinstance(item, Text):
            body.append(_text(item, glyphs))
        elif isinstance(item, Bars):
            dark.extend(
                (item.x + start * item.module, item.y, length * item.module, item.height)
                for start, length in dark_runs(item.pattern)
            )
        elif isinstance(item, QRCode):
            for row, modules in enumerate(item.matrix()):
                dark.extend(
                    (
                        item.x + start * item.module,
                        item.y + row * item.module,
                        length * item.module,
                        item.module,
                    )
                    for start, length in dark_runs(modules)
                )
        elif isinstance(item, Frame):
            body.append(
                f'<rect x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.width)}" '
                f'height="{_n(item.height)}" fill="none" stroke="#000" '
                f'stroke-width="{_n(item.stroke)}"/>'
            )
    width, height = _n(art.width), _n(art.height)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}mm" height="{height}mm" viewBox="0 0 {width} {height}">'
        f"<defs>{''.join(glyphs.defs)}</defs>"
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<path d="{_rects(dark)}" fill="#000" shape-rendering="crispEdges"/>'
        + "".join(body)
        + "</svg>\n"
    )
