"""The printed forms of DA/T 22-2015: 归档文件目录 (the filing catalogue, A4 landscape), a
box's 备考表 (record sheet) and 归档章 (filing stamps) on label sheets."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from labels.layouts import layout_for
from labels.typefaces import pdf_fonts
from server.models.holdings import Box, Record
from server.services import reference_codes, register_terms
from server.services.errors import Invalid
from server.services.people import clearance_levels

MAX_ROWS = 20_000
CATALOGUE_COLUMNS = ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
# 归档章: three cells by two, 15 × 8 mm each (DA/T 22-2015 appendix).
STAMP_CELL = (15.0, 8.0)


def select_records(session: Session, *, clearance: str, fonds: str | None = None,
                   year: int | None = None, box_id: int | None = None,
                   references: list[str] | None = None) -> list[Record]:
    """The records a form lists, in 档号 order, within the caller's clearance."""
    query = select(Record).where(col(Record.classification).in_(clearance_levels(clearance)))
    if fonds:
        query = query.where(Record.fonds == fonds)
    if year is not None:
        query = query.where(Record.year == year)
    if box_id is not None:
        query = query.where(Record.box_id == box_id)
    if references:
        query = query.where(col(Record.reference_code).in_(references))
    rows = list(session.exec(query.order_by(col(Record.reference_code)).limit(MAX_ROWS + 1)))
    if len(rows) > MAX_ROWS:
        raise Invalid("more than {MAX_ROWS:,} records: narrow the catalogue by fonds or year",
                      MAX_ROWS=MAX_ROWS,
                      field="fonds")
    return rows


def _styles() -> tuple[str, Any, Any, Any]:
    from reportlab.lib.styles import ParagraphStyle

    regular, _bold = pdf_fonts("embedded")  # the bold face is Latin only
    return (regular,
            ParagraphStyle("cell", fontName=regular, fontSize=8.5, leading=10.5),
            ParagraphStyle("title", fontName=regular, fontSize=18, leading=24, alignment=1),
            ParagraphStyle("line", fontName=regular, fontSize=10, leading=14))


def _secret(record: Record) -> str:
    # 公开 records leave the 密级 cell empty, as registers do; the others carry their term.
    if record.classification == "public":
        return ""
    term = f"★{record.classification_term}" if record.classification_term else ""
    return register_terms.CLASSIFICATION_ZH.get(record.classification, record.classification) + term


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def catalogue_pdf(rows: list[Record], *, heading: str = "") -> bytes:
    """归档文件目录: A4 landscape, 序号 档号 文号 责任者 题名 日期 密级 页数 备注."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _font, cell, title, line = _styles()
    data: list[list[Any]] = [[Paragraph(h, cell) for h in CATALOGUE_COLUMNS]]
    for number, r in enumerate(rows, start=1):
        values = (str(number), r.reference_code, r.document_number or "", r.creator or "",
                  r.title, r.date.strftime("%Y%m%d") if r.date else "", _secret(r),
                  "" if r.pages is None else str(r.pages), r.note or "")
        data.append([Paragraph(_escape(v), cell) for v in values])
    widths = [10, 44, 32, 26, 85, 20, 20, 10, 0]
    widths[-1] = 267 - sum(widths)  # what the landscape page leaves goes to 备注
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 3),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                               ("ALIGN", (0, 0), (-1, 0), "CENTER")]))
    story: list[Any] = [Paragraph("归档文件目录", title)]
    if heading:
        story.append(Paragraph(_escape(heading), line))
    story += [Spacer(1, 4 * mm), table]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title="归档文件目录").build(story)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class SheetSigners:
    """Who arranged and who checked the box, and when (blank lines when not given)."""

    arranged_by: str | None = None
    arranged_on: date | None = None
    checked_by: str | None = None
    checked_on: date | None = None


def record_sheet_pdf(box: Box, rows: list[Record], signers: SheetSigners) -> bytes:
    """备考表 of one box: 盒内文件情况说明, 整理人, 整理日期, 检查人, 检查日期."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _font, _cell, title, line = _styles()
    pages = sum(r.pages or 0 for r in rows)
    secret = sum(r.classification not in ("public", "internal") for r in rows)
    items = [p.item for p in map(reference_codes.parse, (r.reference_code for r in rows)) if p]
    span = f"，件号 {min(items):04d}–{max(items):04d}" if items else ""
    gaps = reference_codes.gaps(r.reference_code for r in rows)
    missing = "；".join(f"{g.klass} 缺 {', '.join(f'{n:04d}' for n in g.missing)}" for g in gaps)
    remark = (f"本盒（{box.code}）共 {len(rows)} 件{span}，{pages} 页；其中涉密文件 {secret} 件。"
              + (f"编号不连续：{missing}。" if missing else ""))

    def day(value: date | None) -> str:
        blank = "&nbsp;" * 6  # room to write the date by hand
        return (f"{value.year} 年 {value.month} 月 {value.day} 日" if value
                else f"{blank * 2}年{blank}月{blank}日")

    table = Table([
        [Paragraph("盒内文件情况说明", line), ""],
        [Paragraph(_escape(remark), line), ""],
        [Paragraph(f"整理人：{_escape(signers.arranged_by or '')}", line),
         Paragraph(f"整理日期：{day(signers.arranged_on)}", line)],
        [Paragraph(f"检查人：{_escape(signers.checked_by or '')}", line),
         Paragraph(f"检查日期：{day(signers.checked_on)}", line)],
    ], colWidths=[85 * mm, 85 * mm], rowHeights=[10 * mm, 150 * mm, 14 * mm, 14 * mm])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                               ("SPAN", (0, 0), (1, 0)), ("SPAN", (0, 1), (1, 1)),
                               ("LINEBELOW", (0, 1), (1, 1), 0.4, colors.black),
                               ("VALIGN", (0, 1), (1, 1), "TOP")]))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                      topMargin=20 * mm, bottomMargin=20 * mm, title="备考表").build(
        [Paragraph("备考表", title), Spacer(1, 6 * mm), table])
    return out.getvalue()


def filing_stamps_pdf(rows: list[Record], *, layout: str = "a4-3x8") -> bytes:
    """归档章 for each record, one on each label of the sheet: 全宗号 年度 件号 / 机构 保管期限 页数."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    try:
        stock = layout_for(layout)
    except ValueError as exc:
        raise Invalid(str(exc), field="layout") from exc
    cell_w, cell_h = STAMP_CELL
    if stock.label_width < 3 * cell_w or stock.label_height < 2 * cell_h:
        raise Invalid("a filing stamp needs a label of at least {width:g} × {height:g} mm; "
                      "{stock} has {label_width:g} × {label_height:g} mm",
                      width=3 * cell_w, height=2 * cell_h, stock=stock.name or layout,
                      label_width=stock.label_width, label_height=stock.label_height, field="layout")
    font, *_ = _styles()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(stock.page_width * mm, stock.page_height * mm))
    pdf.setTitle("归档章")
    cells = list(stock.cells())
    for index, record in enumerate(rows):
        if index and index % stock.per_page == 0:
            pdf.showPage()
        x, y = cells[index % stock.per_page]
        left = x + (stock.label_width - 3 * cell_w) / 2
        top = y + (stock.label_height - 2 * cell_h) / 2
        parts = reference_codes.parse(record.reference_code)
        retention = register_terms.RETENTION_ZH.get(record.retention, "")
        if record.retention == "custom" and record.retention_years:
            retention = f"定期{record.retention_years}年"
        values = (
            (record.fonds or (parts.fonds if parts else "") or "",
             str(record.year or (parts.year if parts else "")),
             f"{record.item or (parts.item if parts else 0):04d}"
             if (record.item or parts) else ""),
            ((parts.org if parts and parts.org else "") or "", retention,
             "" if record.pages is None else str(record.pages)),
        )
        for row, texts in enumerate(values):
            for column, text in enumerate(texts):
                cx = left + column * cell_w
                cy = top + row * cell_h
                pdf.rect(cx * mm, (stock.page_height - cy - cell_h) * mm, cell_w * mm, cell_h * mm)
                size = 8.0
                while size > 4 and pdf.stringWidth(text, font, size) > (cell_w - 1.5) * mm:
                    size -= 0.5
                pdf.setFont(font, size)
                pdf.drawCentredString((cx + cell_w / 2) * mm,
                                      (stock.page_height - cy - cell_h / 2 - size * 0.12) * mm,
                                      text)
    if not rows:
        pdf.setFont(font, 10)
        pdf.drawString(20 * mm, (stock.page_height - 20) * mm, "（无归档文件）")
    pdf.showPage()
    pdf.save()
    return out.getvalue()
