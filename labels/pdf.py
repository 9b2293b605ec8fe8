"""PDF output (reportlab): many labels on sheets or one label per page for a thermal roll."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.artwork import Artwork, Bars, Frame, QRCode, Text, compose
from labels.barcodes import dark_runs
from labels.content import Label
from labels.layouts import Layout, layout_for
from labels.typefaces import CID, TRUETYPE, Metrics, bold_covers, pdf_fonts

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
FONT_MODES: dict[str, Metrics] = {"embedded": TRUETYPE, "cid": CID}


def label_pdf(
    labels: Sequence[Label],
    *,
    layout: str | Layout = "a4-3x8",
    on_progress: Progress | None = None,
    fonts: str = "embedded",
) -> bytes:
    """All labels in one PDF, filling each page's grid row by row.

    on_progress(done, total) is called after each label. fonts is "embedded" (the bundled font,
    subset into the file) or "cid" (STSong-Light, not embedded: smaller, needs a Chinese font
    where the PDF is opened).
    """
    if not labels:
        raise ValueError("no labels to render")
    stock = layout_for(layout)
    try:
        metrics = FONT_MODES[fonts]
    except KeyError:
        raise ValueError(
            f"unknown PDF font mode {fonts!r}: expected one of {list(FONT_MODES)}"
        ) from None
    regular, bold = pdf_fonts(fonts)
    out = io.BytesIO()
    # invariant: no timestamps or random ids, so the same labels give the same bytes.
    canvas = Canvas(out, pagesize=(stock.page_width * mm, stock.page_height * mm), invariant=True)
    canvas.setTitle(f"{len(labels)} labels")
    canvas.setCreator("archive-twin")
    cells = list(stock.cells())
    total = len(labels)
    for done, label in enumerate(labels, start=1):
        slot = (done - 1) % len(cells)
        if slot == 0 and done > 1:
            canvas.showPage()
        x, y = cells[slot]
        art = compose(label, stock.label_width, stock.label_height, metrics)
        _paint(canvas, art, x, stock.page_height - y, regular, bold, fonts == "embedded")
        if on_progress is not None:
            on_progress(done, total)
    canvas.showPage()
    canvas.save()
    logger.debug("rendered %d labels on %s as PDF", total, stock.name)
    return out.getvalue()


def _paint(
    canvas: Canvas, art: Artwork, left: float, top: float, regular: str, bold: str, embedded: bool
) -> None:
    """Draw art with its top-left corner at (left, top) mm in PDF coordinates (y up)."""
    canvas.saveState()
    # Work in mm with y pointing down, as the artwork does; text is flipped back upright.
    canvas.translate(left * mm, top * mm)
    canvas.scale(mm, -mm)
    dark = canvas.beginPath()
    for item in art.items:
        if isinstance(item, Text):
            use_bold = item.bold and (bold_covers(item.text) if embedded else item.text.isascii())
            canvas.saveState()
            canvas.translate(item.x, item.y)
            canvas.scale(1, -1)
            canvas.setFont(bold if use_bold else regular, item.size)
            canvas.drawString(0, 0, item.text)
            canvas.restoreState()
        elif isinstance(item, Bars):
            for start, length in dark_runs(item.pattern):
                dark.rect(item.x + start * item.module, item.y, length * item.module, item.height)
        elif isinstance(item, QRCode):
            for row, modules in enumerate(item.matrix()):
                y = item.y + row * item.module
                for start, length in dark_runs(modules):
                    dark.rect(item.x + start * item.module, y, length * item.module, item.module)
        elif isinstance(item, Frame):
            canvas.setLineWidth(item.stroke)
            canvas.rect(item.x, item.y, item.width, item.height, stroke=1, fill=0)
    canvas.drawPath(dark, stroke=0, fill=1)
    canvas.restoreState()
