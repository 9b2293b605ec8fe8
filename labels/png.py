"""PNG output (Pillow): one label as a grayscale image at a printer's resolution."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from labels.artwork import Artwork, Bars, Frame, QRCode, Text
from labels.barcodes import MM_PER_INCH, dark_runs, dots
from labels.typefaces import bold_covers, pil_font


def paint_png(art: Artwork, *, dpi: int = 300) -> bytes:
    """art as a PNG at dpi (the resolution is also written into the file)."""
    scale = dpi / MM_PER_INCH
    image = Image.new("L", (round(art.width * scale), round(art.height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for item in art.items:
        if isinstance(item, Text):
            font = pil_font(round(item.size * scale), item.bold and bold_covers(item.text))
            draw.text((item.x * scale, item.y * scale), item.text, font=font, fill=0, anchor="ls")
        elif isinstance(item, Bars):
            # Whole-pixel modules, rounded down so the symbol stays inside its place: a bar
            # drawn at fractional pixels comes out one pixel wider or narrower and misreads.
            module = dots(item.module, dpi, at_most=True)
            left, top = round(item.x * scale), round(item.y * scale)
            bottom = top + round(item.height * scale) - 1
            for start, length in dark_runs(item.pattern):
                x = left + start * module
                draw.rectangle((x, top, x + length * module - 1, bottom), fill=0)
        elif isinstance(item, QRCode):
            module = dots(item.module, dpi, at_most=True)
            # Keep the symbol centred on its place when the module was rounded down.
            shift = (item.module * scale - module) * item.modules / 2
            left, top = round(item.x * scale + shift), round(item.y * scale + shift)
            for row, modules in enumerate(item.matrix()):
                y = top + row * module
                for start, length in dark_runs(modules):
                    x = left + start * module
                    draw.rectangle((x, y, x + length * module - 1, y + module - 1), fill=0)
        elif isinstance(item, Frame):
            draw.rectangle(
                (
                    round(item.x * scale),
                    round(item.y * scale),
                    round((item.x + item.width) * scale),
                    round((item.y + item.height) * scale),
                ),
                outline=0,
                width=max(1, round(item.stroke * scale)),
            )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=False)
    return out.getvalue()
