"""The annual report (年报) as a PDF: the year's holdings, lending and occupancy, in one language.

Set with reportlab in the labels' bundled Noto Sans SC (embedded, subset), so Chinese renders
wherever the PDF is opened. Each figure is a heading, a bar chart and its table.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dashboard.charts import em_width
from dashboard.pages import Page
from dashboard.statistics_pages import headers, words
from labels.typefaces import pdf_fonts
from server.clock import now
from server.services import statistics
from server.services.statistics import Figure

WIDTH = A4[0] - 36 * mm
ROW = 5.2 * mm
FONT = 8.5
INK = colors.HexColor("#1b1f24")
BAR = colors.HexColor("#1f5f8b")
TRACK = colors.HexColor("#e4e8ec")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=14, wordWrap="CJK",
                          textColor=INK)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", parent=base, fontSize=12.5, leading=17,
                                  spaceBefore=5 * mm, spaceAfter=2 * mm),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=FONT, leading=FONT * 1.3),
    }


def _chart(labels: list[str], values: list[int], limits: list[int | None], font: str) -> Drawing:
    """Horizontal bars with their labels and values, like the page's SVG chart."""
    label_w = min(55 * mm, max((em_width(x) for x in labels), default=4) * FONT * 0.95 + 2 * mm)
    room = WIDTH - label_w - 22 * mm
    scale = max([*values, *(x or 0 for x in limits)], default=0) or 1
    drawing = Drawing(WIDTH, max(1, len(labels)) * ROW + 2)
    for i, (label, value, limit) in enumerate(zip(labels, values, limits, strict=True)):
        y = drawing.height - (i + 1) * ROW
        drawing.add(String(label_w - 2 * mm, y + 1.4 * mm, label, fontName=font, fontSize=FONT,
                           textAnchor="end", fillColor=INK))
        if limit:
            drawing.add(_bar(label_w, y + 0.6 * mm, room * limit / scale, TRACK))
        length = room * value / scale
        drawing.add(_bar(label_w, y + 0.6 * mm, length, BAR))
        end = label_w + max(length, room * (limit or 0) / scale)
        drawing.add(String(end + 1.5 * mm, y + 1.4 * mm, f"{value:,}", fontName=font,
                           fontSize=FONT, fillColor=INK))
    return drawing


def _bar(x: float, y: float, width: float, colour: colors.Color) -> Rect:
    bar = Rect(x, y, width, ROW - 1.6 * mm)
    bar.fillColor = colour
    bar.strokeColor = None
    return bar


def _figure(page: Page, figure: Figure, title: str, font: str, styles) -> list:
    lines = [{**row, "label": words(page, figure, row.get("key"), row)} for row in figure.rows]
    names = headers(page, figure)
    columns = ["label", *(c for c in figure.columns if c not in ("key", "name"))]
    cell = styles["cell"]
    data: list[list[Any]] = [[Paragraph(names[c], cell) for c in columns]]
    for line in lines:
        data.append([Paragraph(str(line["label"]), cell)] + [
            "—" if line.get(c) is None else (f"{line[c]} %" if c == "percent" else page.number(line[c]))
            for c in columns[1:]])
    data.append([Paragraph(names["total"], cell)] + [
        f"{figure.total:,}" if c == "count" else
        (f"{figure.totals[c]:,}" if c in figure.totals else "") for c in columns[1:]])
    table = Table(data, colWidths=[WIDTH * 0.5] + [WIDTH * 0.5 / max(1, len(columns) - 1)]
                  * (len(columns) - 1), repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), FONT),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK), ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f4f6f8")]),
    ]))
    parts: list = [Paragraph(title, styles["heading"])]
    if lines:
        limits: list[int | None] = [None] * len(lines)
        if figure.name == "occupancy":
            limits = [line.get("capacity") or None for line in lines]
        chart = _chart([str(x["label"]) for x in lines], [x["count"] for x in lines], limits, font)
        parts += [chart, Spacer(1, 2 * mm)]
    parts.append(table)
    return [KeepTogether(parts[:2]), *parts[2:]] if len(parts) > 2 else parts


def render_pdf(page: Page, *, year: int) -> bytes:
    """The report for `year`, counted within the reader's clearance, as PDF bytes."""
    t = page.t
    font, _bold = pdf_fonts("embedded")
    styles = _styles(font)
    out = io.BytesIO()
    title = t("report.title", year=year)
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=18 * mm, bottomMargin=18 * mm, title=title,
                                 author="archive-twin", creator="archive-twin",
                                 lang="zh-Hans" if page.lang == "zh" else "en")
    story: list = [
        Paragraph(title, styles["title"]),
        Paragraph(t("report.made", when=page.when(now()),
                    who=page.person.username,
                    clearance=page.term("class", page.person.clearance)), styles["body"]),
    ]
    figures = statistics.annual(page.session, year=year, clearance=page.person.clearance)
    for index, figure in enumerate(figures):
        key = f"report.section.{index}"
        story += _figure(page, figure, t(key, year=year), font, styles)
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(t("report.footer"), styles["cell"]))

    def number_pages(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, t("report.page", n=doc.page))
        canvas.drawString(18 * mm, 10 * mm, title)
        canvas.restoreState()

    document.build(story, onFirstPage=number_pages, onLaterPages=number_pages)
    return out.getvalue()
