"""Label stock: A4 sheets with a grid of labels, and single thermal labels on a roll.

LAYOUTS maps a name to its stock; adding a stock is one entry (sheet_layout() for a sheet,
roll_layout() for a roll).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

A4 = (210.0, 297.0)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where labels sit on a page, in mm; a roll layout is one label per page."""

    name: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int = 1
    rows: int = 1
    margin_x: float = 0.0
    margin_y: float = 0.0
    gap_x: float = 0.0
    gap_y: float = 0.0

    @property
    def per_page(self) -> int:
        """How many labels one page holds."""
        return self.columns * self.rows

    def cells(self) -> Iterator[tuple[float, float]]:
        """Top-left corner (x, y from the page's top-left, mm) of each label, row by row."""
        for row in range(self.rows):
            for column in range(self.columns):
                yield (
                    self.margin_x + column * (self.label_width + self.gap_x),
                    self.margin_y + row * (self.label_height + self.gap_y),
                )


def sheet_layout(
    columns: int,
    rows: int,
    *,
    margin: float | tuple[float, float] = 10.0,
    gap: float | tuple[float, float] = 3.0,
    page: tuple[float, float] = A4,
    name: str = "",
) -> Layout:
    """A sheet with a columns x rows grid; margin and gap are mm, one number or (x, y)."""
    if columns < 1 or rows < 1:
        raise ValueError(f"a sheet needs at least one column and row, got {columns}x{rows}")
    margin_x, margin_y = margin if isinstance(margin, tuple) else (margin, margin)
    gap_x, gap_y = gap if isinstance(gap, tuple) else (gap, gap)
    width = (page[0] - 2 * margin_x - (columns - 1) * gap_x) / columns
    height = (page[1] - 2 * margin_y - (rows - 1) * gap_y) / rows
    if width < 20 or height < 15:
        raise ValueError(
            f"a {columns}x{rows} grid leaves {width:.1f}x{height:.1f} mm labels; "
            "a label needs at least 20x15 mm to carry a QR code and a Code128"
        )
    return Layout(
        name=name or f"sheet-{columns}x{rows}",
        page_width=page[0],
        page_height=page[1],
        label_width=width,
        label_height=height,
        columns=columns,
        rows=rows,
        margin_x=margin_x,
        margin_y=margin_y,
        gap_x=gap_x,
        gap_y=gap_y,
    )


def roll_layout(width: float, height: float, *, name: str = "") -> Layout:
    """Single labels of width x height mm, one per page (thermal printers)."""
    return Layout(
        name=name or f"{width:g}x{height:g}",
        page_width=width,
        page_height=height,
        label_width=width,
        label_height=height,
    )


LAYOUTS: dict[str, Layout] = {
    "a4-3x8": sheet_layout(3, 8, margin=(8.0, 10.0), gap=(3.0, 2.0), name="a4-3x8"),
    "a4-2x7": sheet_layout(2, 7, margin=(10.0, 12.0), gap=(5.0, 3.0), name="a4-2x7"),
    "a4-2x4": sheet_layout(2, 4, margin=(10.0, 12.0), gap=(5.0, 4.0), name="a4-2x4"),
    "100x50": roll_layout(100, 50, name="100x50"),
    "60x40": roll_layout(60, 40, name="60x40"),
}


# Stock beyond the named ones: any A4 grid ("a4-4x10") and any roll size ("80x50", in mm).
GRID = re.compile(r"a4-(\d{1,2})x(\d{1,2})")
ROLL = re.compile(r"(\d{2,3})x(\d{2,3})")
GRID_LIMITS = (1, 10, 1, 30)  # columns 1-10, rows 1-30
ROLL_LIMITS_MM = (20, 200)
LAYOUT_HELP = (f"{', '.join(LAYOUTS)}, any A4 grid as a4-COLUMNSxROWS (up to 10x30), or a roll "
               f"label as WIDTHxHEIGHT in mm ({ROLL_LIMITS_MM[0]}-{ROLL_LIMITS_MM[1]})")


def layout_for(layout: str | Layout) -> Layout:
    """The Layout for a name: a named stock, an A4 grid (a4-4x10) or a roll size (80x50)."""
    if isinstance(layout, Layout):
        return layout
    name = layout.strip().lower()
    if name in LAYOUTS:
        return LAYOUTS[name]
    if grid := GRID.fullmatch(name):
        columns, rows = int(grid[1]), int(grid[2])
        low_c, high_c, low_r, high_r = GRID_LIMITS
        if not (low_c <= columns <= high_c and low_r <= rows <= high_r):
            raise ValueError(f"an A4 grid has 1 to {high_c} columns and 1 to {high_r} rows, "
                             f"not {columns}x{rows}")
        return sheet_layout(columns, rows, name=name)
    if roll := ROLL.fullmatch(name):
        width, height = int(roll[1]), int(roll[2])
        low, high = ROLL_LIMITS_MM
        if not (low <= width <= high and low <= height <= high):
            raise ValueError(f"a roll label is {low} to {high} mm each way, not {width}x{height}")
        return roll_layout(width, height, name=name)
    raise ValueError(f"unknown label layout {layout!r}; use {LAYOUT_HELP}")
