"""QR and Code128 symbols: encoding (module matrix, bar pattern) and stand-alone PNG/SVG images.

QR uses error correction level Q (a quarter of the symbol can be scuffed off a box and it still
reads) and a 4-module quiet zone; Code128 keeps a quiet zone of 10 module widths on each side.
"""

from __future__ import annotations

import io
import math

import barcode
import qrcode
from barcode.writer import SVGWriter
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.image.svg import SvgPathFillImage

QR_QUIET_MODULES = 4
CODE128_QUIET_MODULES = 10
MM_PER_INCH = 25.4


def dots(mm: float, dpi: float, *, at_most: bool = False) -> int:
    """mm as a whole number of printer dots/pixels (at least 1); at_most rounds down."""
    exact = mm * dpi / MM_PER_INCH
    return max(1, math.floor(exact + 1e-6) if at_most else round(exact))


def _qr(payload: str, border: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=border)
    qr.add_data(payload)
    return qr


def qr_modules(payload: str) -> int:
    """Modules per side of the QR symbol for payload (no quiet zone); cheap, no mask search."""
    version = _qr(payload, 0).best_fit()
    return 17 + 4 * version


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR symbol's dark modules, row by row (no quiet zone)."""
    qr = _qr(payload, 0)
    qr.make(fit=True)
    # make() has set every module, but the stubs type an unset one as None.
    return [[bool(dark) for dark in row] for row in qr.modules]


def code128_pattern(text: str) -> str:
    """The Code128 bars as a string of '1' (dark) and '0' (light) modules, no quiet zone."""
    return barcode.get("code128", text).build()[0]


def qr_png(payload: str, *, dpi: int = 300, module_mm: float = 0.5) -> bytes:
    """A QR code PNG with whole-pixel modules of about module_mm at dpi, quiet zone included."""
    qr = _qr(payload, QR_QUIET_MODULES)
    qr.box_size = dots(module_mm, dpi)
    qr.make(fit=True)
    image = qr.make_image().get_image()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def qr_svg(payload: str, *, module_mm: float = 0.5) -> str:
    """A QR code SVG (one path, white background) sized in mm, quiet zone included."""
    qr = _qr(payload, QR_QUIET_MODULES)
    # qrcode's SVG images count box_size in tenths of a millimetre.
    qr.box_size = max(1, round(module_mm * 10))
    qr.make(fit=True)
    return qr.make_image(image_factory=SvgPathFillImage).to_string(encoding="unicode")


def _code128_options(module_mm: float, height_mm: float, human_readable: bool) -> dict:
    return {
        "module_width": module_mm,
        "module_height": height_mm,
        "quiet_zone": CODE128_QUIET_MODULES * module_mm,
        "write_text": human_readable,
        "font_size": 8,
        "text_distance": 3.5,
    }


def code128_png(
    text: str,
    *,
    dpi: int = 300,
    module_mm: float = 0.25,
    height_mm: float = 12.0,
    human_readable: bool = True,
) -> bytes:
    """A Code128 PNG at dpi, quiet zones included, every module a whole number of pixels."""
    from PIL import Image, ImageDraw

    from labels.typefaces import pil_font

    pattern = code128_pattern(text)
    module = dots(module_mm, dpi)
    quiet = CODE128_QUIET_MODULES * module
    bar_height = dots(height_mm, dpi)
    font = pil_font(dots(2.8, dpi)) if human_readable else None
    text_height = dots(4.5, dpi) if human_readable else 0
    width = 2 * quiet + len(pattern) * module
    # python-barcode's ImageWriter places bars at fractional pixels, which makes a 2-pixel
    # module print as 2 or 3 pixels at 203 dpi and the symbol unreadable, so the bars are drawn
    # here from its pattern.
    image = Image.new("L", (width, bar_height + text_height + 2 * module), 255)
    draw = ImageDraw.Draw(image)
    for start, length in dark_runs(pattern):
        x = quiet + start * module
        draw.rectangle((x, module, x + length * module - 1, module + bar_height - 1), fill=0)
    if font is not None:
        draw.text((width / 2, image.height - module), text, font=font, fill=0, anchor="md")
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def dark_runs(modules: str | list[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a '1'/'0' string or a row of booleans."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, module in enumerate(modules):
        dark = module == "1" if isinstance(module, str) else bool(module)
        if dark and start < 0:
            start = i
        elif not dark and start >= 0:
            runs.append((start, i - start))
            start = -1
    if start >= 0:
        runs.append((start, len(modules) - start))
    return runs


def code128_svg(
    text: str, *, module_mm: float = 0.25, height_mm: float = 12.0, human_readable: bool = True
) -> str:
    """A Code128 SVG sized in mm, quiet zones included."""
    symbol = barcode.get("code128", text, writer=SVGWriter())
    return symbol.render(_code128_options(module_mm, height_mm, human_readable)).decode("utf-8")
