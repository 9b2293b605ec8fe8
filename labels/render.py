"""Label rendering, the one place to call: PDF sheets and rolls, PNG, SVG and ZPL.

FORMATS maps an output name to how it is rendered and served; adding a format is one entry.
LAYOUTS (labels.layouts) maps a stock name to its geometry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from labels.artwork import compose
from labels.barcodes import code128_png, code128_svg, qr_png, qr_svg
from labels.content import BoxLabel, Label, LocationLabel
from labels.layouts import LAYOUTS, Layout, layout_for, roll_layout, sheet_layout
from labels.pdf import label_pdf
from labels.png import paint_png
from labels.svg import paint_svg
from labels.typefaces import TRUETYPE, missing_characters
from labels.zpl import label_zpl, read_back, unverified

__all__ = [
    "FORMATS",
    "LAYOUTS",
    "BoxLabel",
    "Label",
    "Layout",
    "LocationLabel",
    "OutputFormat",
    "code128_png",
    "code128_svg",
    "label_pdf",
    "label_png",
    "label_svg",
    "label_zpl",
    "missing_characters",
    "qr_png",
    "qr_svg",
    "read_back",
    "render",
    "roll_layout",
    "sheet_layout",
    "unverified",
]


def label_png(label: Label, *, layout: str | Layout = "100x50", dpi: int = 300) -> bytes:
    """One label as a PNG at dpi, sized as a label of layout."""
    stock = layout_for(layout)
    return paint_png(compose(label, stock.label_width, stock.label_height, TRUETYPE), dpi=dpi)


def label_svg(label: Label, *, layout: str | Layout = "100x50") -> str:
    """One label as an SVG document in mm, sized as a label of layout."""
    stock = layout_for(layout)
    return paint_svg(compose(label, stock.label_width, stock.label_height, TRUETYPE))


def _one(labels: Sequence[Label], fmt: str) -> Label:
    if len(labels) != 1:
        raise ValueError(f"{fmt} holds one label, got {len(labels)}; use pdf or zpl for a batch")
    return labels[0]


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """An output: its media type, file suffix, default layout and renderer to bytes."""

    media_type: str
    suffix: str
    default_layout: str
    render: Callable[..., bytes]


FORMATS: dict[str, OutputFormat] = {
    "pdf": OutputFormat(
        "application/pdf",
        ".pdf",
        "a4-3x8",
        lambda labels, layout, **kw: label_pdf(labels, layout=layout, **kw),
    ),
    "png": OutputFormat(
        "image/png",
        ".png",
        "100x50",
        lambda labels, layout, **kw: label_png(_one(labels, "png"), layout=layout, **kw),
    ),
    "svg": OutputFormat(
        "image/svg+xml",
        ".svg",
        "100x50",
        lambda labels, layout, **kw: label_svg(_one(labels, "svg"), layout=layout, **kw).encode(),
    ),
    "zpl": OutputFormat(
        "application/vnd.zebra-zpl",
        ".zpl",
        "100x50",
        lambda labels, layout, **kw: label_zpl(labels, layout=layout, **kw).encode("utf-8"),
    ),
}


def render(
    labels: Sequence[Label],
    *,
    output: str = "pdf",
    layout: str | Layout | None = None,
    **options: Any,
) -> bytes:
    """labels in the named output format as bytes, ready to serve or send to a printer."""
    try:
        fmt = FORMATS[output]
    except KeyError:
        raise ValueError(f"unknown label output {output!r}; known: {', '.join(FORMATS)}") from None
    return fmt.render(list(labels), layout or fmt.default_layout, **options)
