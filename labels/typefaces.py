"""The typeface labels are set in: the bundled Noto Sans SC subset, its metrics, and its loaders.

Every renderer measures text with the same metrics so a title truncated for the PDF is truncated
the same way in the PNG and SVG. Fonts are loaded once per process (they are the expensive part).
See labels/fonts/README.md for where the font files come from and how they were cut.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

logger = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Noto Sans SC Regular cut to GB 2312 (all 6,763 hanzi) plus Latin and punctuation.
REGULAR_FONT = FONT_DIR / "NotoSansSC-Regular-GB2312.ttf"
# Noto Sans SC Bold cut to Latin only: it sets the box/location code in large type.
BOLD_FONT = FONT_DIR / "NotoSansSC-Bold-Latin.ttf"

PDF_REGULAR = "ArchiveLabelSans"
PDF_BOLD = "ArchiveLabelSans-Bold"
CID_FONT = "STSong-Light"
CID_BOLD = "Helvetica-Bold"

ELLIPSIS = "…"
_PT_PER_MM = 72 / 25.4


class Metrics(Protocol):
    """How wide a text is when set at an em size, in the same unit as the size."""

    def width(self, text: str, size: float, bold: bool = False) -> float: ...


@lru_cache(maxsize=2)
def _face(bold: bool) -> Any:
    """reportlab's parsed TrueType face (widths and cmap); parsed once per process."""
    from reportlab.pdfbase.ttfonts import TTFont

    return TTFont(PDF_BOLD if bold else PDF_REGULAR, str(BOLD_FONT if bold else REGULAR_FONT))


def bold_covers(text: str) -> bool:
    """True when the Latin-only bold face has every character of text."""
    widths = _face(True).face.charWidths
    return all(ord(ch) in widths for ch in text)


def missing_characters(text: str) -> str:
    """The characters of text the bundled font cannot draw (outside GB 2312 and Latin)."""
    widths = _face(False).face.charWidths
    return "".join(sorted({ch for ch in text if ord(ch) not in widths and not ch.isspace()}))


class TrueTypeMetrics:
    """Widths from the bundled TrueType fonts (what the PDF, PNG and SVG actually draw)."""

    def width(self, text: str, size: float, bold: bool = False) -> float:
        face = _face(bold and bold_covers(text)).face
        widths, default = face.charWidths, face.defaultWidth
        return sum(widths.get(ord(ch), default) for ch in text) * size / 1000


class CidMetrics:
    """Widths of reportlab's built-in STSong-Light / Helvetica-Bold (the PDF without embedding)."""

    def width(self, text: str, size: float, bold: bool = False) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        regular, bold_name = pdf_fonts("cid")
        name = bold_name if bold and text.isascii() else regular
        return stringWidth(text, name, size * _PT_PER_MM) / _PT_PER_MM


class CellMetrics:
    """Printer-resident fonts we cannot measure: wide (CJK) characters 1 em, the rest 0.6 em.

    Zebra's Andale CJK fonts are monospaced, so this upper bound keeps ZPL text off the QR code.
    """

    def width(self, text: str, size: float, bold: bool = False) -> float:
        wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
        return (wide + 0.6 * (len(text) - wide)) * size


TRUETYPE = TrueTypeMetrics()
CID = CidMetrics()
CELLS = CellMetrics()


def fit(
    text: str,
    width: float,
    size: float,
    metrics: Metrics,
    *,
    bold: bool = False,
    keep: str = "start",
) -> str:
    """text, or as much of it as fits width with an ellipsis (keep="end" trims the front)."""
    if metrics.width(text, size, bold) <= width:
        return text
    room = width - metrics.width(ELLIPSIS, size, bold)
    chars = list(text)
    while chars and metrics.width("".join(chars), size, bold) > room:
        if keep == "end":
            chars.pop(0)
        else:
            chars.pop()
    body = "".join(chars)
    return ELLIPSIS + body.lstrip() if keep == "end" else body.rstrip() + ELLIPSIS


PATH_SEPARATOR = " › "


def fit_path(path: str, width: float, size: float, metrics: Metrics, *, bold: bool = False) -> str:
    """A location path that fits width: its room and unit (where to walk) and its last places
    (shelf, slot: where to look) stay, the places after the unit give way ("一号库房 › 03列 › … ›
    第17格"), then the unit, and last the room's name at its end."""
    parts = path.split(PATH_SEPARATOR)
    kept = parts
    for dropped in range(1, len(parts) - 1):  # the first and the last part always stay
        if metrics.width(PATH_SEPARATOR.join(kept), size, bold) <= width:
            break
        # the run dropped starts after the unit while room, unit and the last place are left
        start = 2 if len(parts) - dropped >= 3 else 1
        kept = [*parts[:start], ELLIPSIS, *parts[start + dropped:]]
    text = PATH_SEPARATOR.join(kept)
    if metrics.width(text, size, bold) > width and len(kept) > 1:
        # the room's name gives way at its end: "Main stack r… › … › Slot 17"
        rest = PATH_SEPARATOR.join(["", *kept[1:]])
        room = width - metrics.width(rest, size, bold)
        if room > metrics.width(kept[0][:2] + ELLIPSIS, size, bold):
            text = fit(kept[0], room, size, metrics, bold=bold) + rest
    return fit(text, width, size, metrics, bold=bold, keep="end")


@lru_cache(maxsize=2)
def pdf_fonts(mode: str = "embedded") -> tuple[str, str]:
    """Register the label fonts with reportlab once; return (regular, bold) font names.

    mode "embedded" embeds (a per-document subset of) the bundled TrueType fonts, so the PDF looks
    the same everywhere; "cid" uses the Adobe-GB1 CID font STSong-Light, which adds nothing to the
    file but relies on the viewer or printer having a Chinese font.
    """
    from reportlab.pdfbase import pdfmetrics

    if mode == "embedded":
        pdfmetrics.registerFont(_face(False))
        pdfmetrics.registerFont(_face(True))
        return PDF_REGULAR, PDF_BOLD
    if mode == "cid":
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT, CID_BOLD
    raise ValueError(f"unknown PDF font mode {mode!r}: expected 'embedded' or 'cid'")


@lru_cache(maxsize=256)
def pil_font(size_px: int, bold: bool = False) -> FreeTypeFont:
    """The bundled font at a pixel em size, for Pillow."""
    from PIL import ImageFont

    return ImageFont.truetype(str(BOLD_FONT if bold else REGULAR_FONT), max(1, size_px))


class Outlines:
    """Glyph outlines as SVG path data, so an SVG label needs no font on the viewer's side."""

    def __init__(self, path: Path) -> None:
        from fontTools.ttLib import TTFont

        font = TTFont(str(path), lazy=True)
        self.units_per_em: int = font["head"].unitsPerEm
        self._cmap: dict[int, str] = font.getBestCmap()
        self._glyphs = font.getGlyphSet()
        self._paths: dict[str, str] = {}

    def glyph(self, ch: str) -> tuple[str, str, int]:
        """(glyph name, SVG path data in font units with y up, advance width) for ch."""
        from fontTools.pens.svgPathPen import SVGPathPen

        name = self._cmap.get(ord(ch), ".notdef")
        glyph = self._glyphs[name]
        if name not in self._paths:
            pen = SVGPathPen(self._glyphs)
            glyph.draw(pen)
            self._paths[name] = pen.getCommands()
        return name, self._paths[name], glyph.width


@lru_cache(maxsize=2)
def outlines(bold: bool = False) -> Outlines:
    """The bundled font's outlines (loaded lazily, once)."""
    return Outlines(BOLD_FONT if bold else REGULAR_FONT)
