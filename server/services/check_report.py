"""The four-property check as a printed report (A4, Chinese or English)."""

from __future__ import annotations

import io
from typing import Any

from labels.typefaces import pdf_fonts
from server.models.description import FourPropertyCheck

_TEXT = {
    "en": {"title": "Four-property check (DA/T 70-2018)", "stage": "Stage", "scope": "Scope",
           "by": "By", "when": "Finished", "records": "Records", "copies": "Copies",
           "property": "Property", "item": "Item", "result": "Result", "detail": "Failures / why",
           "everything": "everything", "pass": "pass", "fail": "FAIL", "not_checked": "not checked",
           "authenticity": "Authenticity", "integrity": "Integrity", "usability": "Usability",
           "security": "Security", "filing": "filing", "transfer": "transfer",
           "preservation": "preservation", "more": "… and {n} more"},
    "zh": {"title": "电子档案四性检测报告（DA/T 70-2018）", "stage": "检测环节", "scope": "检测范围",
           "by": "检测人", "when": "完成时间", "records": "档案数", "copies": "电子文件数",
           "property": "性质", "item": "检测项", "result": "结果", "detail": "不合格对象 / 未检原因",
           "everything": "全部", "pass": "通过", "fail": "不通过", "not_checked": "未检测",
           "authenticity": "真实性", "integrity": "完整性", "usability": "可用性",
           "security": "安全性", "filing": "归档", "transfer": "移交", "preservation": "长期保存",
           "more": "……另有 {n} 项"},
}


# Each item as a Chinese report names it (the stored item keeps the English name).
ITEM_ZH = {
    "固化信息 digests match what was recorded at filing": "固化信息有效性检测（摘要值与归档时一致）",
    "元数据 metadata length, type, value sets and special characters":
        "元数据项数据长度、类型、值域及特殊字符检测",
    "档号 format (DA/T 13-2022)": "档号规范性检测（DA/T 13-2022）",
    "档号 unique": "档号重复性检测",
    "file properties against metadata (size, format)": "电子文件属性与元数据一致性检测",
    "count against the filing register": "总件数与归档登记相符性检测",
    "required description items (DA/T 18-2022, file level)": "必填著录项目检测（DA/T 18-2022 文件级）",
    "开放标识 reviewed before transfer (划控)": "开放标识审核（划控）检测",
    "no gaps in 件号 (continuous numbering)": "件号连续性检测",
    "every described copy present": "电子文件齐全性检测",
    "format identified and on the allowed list": "文件格式检测（可识别且在允许范围内）",
    "the file opens (real parser), not encrypted": "文件可读性检测（可正常打开、未加密）",
    "a backup restores (preservation stage)": "备份数据可恢复性检测（长期保存环节）",
    "virus scan (ClamAV clamd)": "病毒检测（ClamAV）",
    "access control on classified records": "涉密档案访问控制检测",
}


def render(check: FourPropertyCheck, language: str = "en") -> bytes:
    """The check as a PDF."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    t = _TEXT.get(language, _TEXT["en"])
    regular, _bold = pdf_fonts("embedded")
    body = ParagraphStyle("body", fontName=regular, fontSize=8, leading=10)
    # The bundled bold face is Latin only: Chinese headings use the regular face.
    head = ParagraphStyle("head", fontName=regular, fontSize=14, leading=18)
    scope = ", ".join(f"{k}={v}" for k, v in check.scope.items()) or t["everything"]
    facts = [(t["stage"], t.get(check.stage, check.stage)), (t["scope"], scope),
             (t["records"], str(check.records)), (t["copies"], str(check.copies)),
             (t["by"], check.by_user), (t["when"], check.finished_at.isoformat(timespec="seconds"))]
    story: list[Any] = [Paragraph(f"{t['title']} #{check.id}", head), Spacer(1, 4 * mm)]
    story.append(Table([[Paragraph(k, body), Paragraph(v, body)] for k, v in facts],
                       colWidths=[35 * mm, 140 * mm]))
    story.append(Spacer(1, 5 * mm))
    rows: list[list[Any]] = [[Paragraph(t[k], body) for k in ("property", "item", "result", "detail")]]
    shade = []
    for n, item in enumerate(check.items, start=1):
        lines = [f"{f.get('record') or ''}{' #' + str(f['copy']) if f.get('copy') else ''}: "
                 f"{f['reason']}" for f in item["failures"][:20]]
        if len(item["failures"]) > 20:
            lines.append(t["more"].format(n=len(item["failures"]) - 20))
        if item.get("why"):
            lines.append(item["why"])
        name = ITEM_ZH.get(item["item"], item["item"]) if language == "zh" else item["item"]
        rows.append([Paragraph(t[item["property"]], body), Paragraph(_escape(name), body),
                     Paragraph(t[item["result"]], body),
                     Paragraph("<br/>".join(_escape(x) for x in lines) or "—", body)])
        if item["result"] == "fail":
            shade.append(("BACKGROUND", (2, n), (2, n), colors.HexColor("#f8d7da")))
    table = Table(rows, colWidths=[20 * mm, 55 * mm, 18 * mm, 87 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                               *shade]))
    story.append(table)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=t["title"]).build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
