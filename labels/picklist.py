"""The pick list as a printed A4 sheet: boxes in walking order, set in the labels' typeface.

Plain rows in, PDF bytes out (labels imports nothing of the server); the regular Noto Sans SC
cut sets the Chinese headings and paths, the bold Latin cut the box codes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.typefaces import pdf_fonts

ROW_MM = 9.0
MARGIN_MM = 15.0


@dataclass(frozen=True, slots=True)
class PickRow:
    """One box to fetch: where, for which request and whom."""

    box: str
    path: str
    request: str
    borrower: str
    mode: str
    picked: bool


def picklist_pdf(rows: Sequence[PickRow], *, title: str = "Pick list 取档单",
                 printed: str = "") -> bytes:
    """The rows on as many A4 pages as they need, with a tick box for each."""
    regular, bold = pdf_fonts("embedded")
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    canvas.setTitle(title)
    canvas.setCreator("archive-twin")
    width, height = A4
    columns = ((MARGIN_MM, "✓"), (MARGIN_MM + 8, "Box 盒号"), (MARGIN_MM + 36, "Where 位置"),
               (MARGIN_MM + 128, "Request 申请"), (MARGIN_MM + 150, "Borrower 借阅人"))

    def heading() -> float:
        canvas.setFont(regular, 16)
        canvas.drawString(MARGIN_MM * mm, height - MARGIN_MM * mm, title)
        canvas.setFont(regular, 9)
        if printed:
            canvas.drawRightString(width - MARGIN_MM * mm, height - MARGIN_MM * mm, printed)
        y = height - (MARGIN_MM + 12) * mm
        for x, name in columns[1:]:
            canvas.drawString(x * mm, y, name)
        canvas.line(MARGIN_MM * mm, y - 2 * mm, width - MARGIN_MM * mm, y - 2 * mm)
        return y - ROW_MM * mm

    y = heading()
    if not rows:
        canvas.setFont(regular, 11)
        canvas.drawString(MARGIN_MM * mm, y, "Nothing to pick. 无待取档案。")
    for row in rows:
        if y < MARGIN_MM * mm:
            canvas.showPage()
            y = heading()
        canvas.rect(MARGIN_MM * mm, y - 1 * mm, 4 * mm, 4 * mm)
        if row.picked:
            canvas.line(MARGIN_MM * mm, y - 1 * mm, (MARGIN_MM + 4) * mm, (y / mm + 3) * mm)
        canvas.setFont(bold, 11)
        canvas.drawString(columns[1][0] * mm, y, row.box)
        canvas.setFont(regular, 9)
        path = row.path if len(row.path) <= 60 else "…" + row.path[-59:]
        canvas.drawString(columns[2][0] * mm, y, path)
        canvas.drawString(columns[3][0] * mm, y, f"#{row.request} {row.mode}")
        canvas.drawString(columns[4][0] * mm, y, row.borrower[:24])
        y -= ROW_MM * mm
    canvas.showPage()
    canvas.save()
    return out.getvalue()
