"""档号 (reference codes) per DA/T 13-2022 and DA/T 22-2015: read, check, build, find gaps.

A file-level code is `[全宗号-]门类·年度·保管期限[·机构]-件号` or `门类·年度·保管期限·件号`
(the demo's `WS·2024·Y·0001`): levels joined by "-", codes within a level by "·", 件号
zero-padded. A code of neither form is free text and keeps working; a code that is read must
agree with the record's year and retention. A template per fonds and category (a row of
`reference_templates`) makes the form strict for that class and builds the next code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from server.models.description import ReferenceTemplate
from server.models.holdings import Record
from server.services import register_terms
from server.services.errors import Invalid

# 门类 codes of DA/T 13-2022.
CATEGORIES: dict[str, str] = {
    "WS": "文书", "KJ": "科技", "RS": "人事", "KU": "会计", "ZY": "专业", "ZP": "照片",
    "LY": "录音", "LX": "录像", "SJ": "业务数据", "YJ": "邮件", "WY": "网页", "MT": "社交媒体",
    "SW": "实物",
}
ITEM_DIGITS = 4
DEFAULT_TEMPLATE = "{category}·{year}·{retention}·{item}"

_FORM = re.compile(
    r"^(?:(?P<fonds>[0-9A-Za-z]{1,10})-)?"
    r"(?P<category>" + "|".join(CATEGORIES) + r")·(?P<year>\d{4})·(?P<retention>Y|D\d{1,3})"
    r"(?:·(?P<org>[^·\-\s]+?))?[-·](?P<item>\d{1,6})$"
)


@dataclass(frozen=True, slots=True)
class ReferenceParts:
    """What a DA/T code says: its class (fonds, category, year, retention, org) and 件号."""

    fonds: str | None
    category: str
    year: int
    retention_code: str
    org: str | None
    item: int
    item_text: str

    @property
    def retention(self) -> tuple[str, int | None]:
        """The record retention the code's 保管期限 stands for."""
        return register_terms.retention(self.retention_code)

    @property
    def klass(self) -> tuple[str, str, int, str, str]:
        """The class within which 件号 run on without gaps."""
        return (self.fonds or "", self.category, self.year, self.retention_code, self.org or "")


def parse(code: str) -> ReferenceParts | None:
    """The parts of a DA/T file-level code, or None for a code of another (free) form."""
    found = _FORM.match(code.strip())
    if not found:
        return None
    return ReferenceParts(
        fonds=found["fonds"], category=found["category"], year=int(found["year"]),
        retention_code=found["retention"], org=found["org"], item=int(found["item"]),
        item_text=found["item"],
    )


def retention_code(retention: str, years: int | None) -> str:
    """The 保管期限 code for a record's retention (permanent → Y, 30y → D30, custom 5 → D5)."""
    if retention in register_terms.RETENTION_CODE:
        return register_terms.RETENTION_CODE[retention]
    if retention == "custom" and years:
        return f"D{years}"
    raise Invalid("a custom retention needs retention_years to be written in a 档号",
                  field="retention_years")


class CodeDisagrees(Invalid):
    """A 档号 that says another year, retention, 门类, 件号 or fonds than the record (422);
    carries its message in Chinese too."""

    def __init__(self, message: str, *, field: str, message_zh: str) -> None:
        super().__init__(message, field=field)
        self.message_zh = message_zh


_COLUMN_ZH = {"year": "年度", "retention": "保管期限", "category": "门类", "item": "件号",
              "fonds": "全宗号"}


def _retention_words(retention: str, years: int | None) -> tuple[str, str]:
    if retention == "custom":
        return f"{years} years", f"定期{years}年"
    return retention, register_terms.RETENTION_ZH.get(retention, retention)


def disagreement(parts: ReferenceParts, *, year: int | None, retention: str,
                 retention_years: int | None) -> tuple[str, str, str] | None:
    """(field, message, message in Chinese) when the code says another year or retention."""
    if year is not None and parts.year != year:
        return ("year", f"the reference code says year {parts.year} but the year column says "
                        f"{year}",
                f"档号中的年度为 {parts.year}，而年度栏为 {year}")
    code_retention = parts.retention
    if code_retention != (retention, retention_years if retention == "custom" else None):
        _said_en, said_zh = _retention_words(*code_retention)
        written_en, written_zh = _retention_words(retention, retention_years)
        return ("retention",
                f"the reference code says retention {parts.retention_code} ({said_zh}) but the "
                f"retention column says {written_en}",
                f"档号中的保管期限为 {parts.retention_code}（{said_zh}），而保管期限栏为 {written_zh}")
    return None


def _disagrees(code: str, field: str, said: object, column: object) -> CodeDisagrees:
    return CodeDisagrees(
        f"the reference code says {field} {said} but the {field} column says {column}",
        field=field, message_zh=f"档号 {code} 中的{_COLUMN_ZH[field]}为 {said}，而"
                                f"{_COLUMN_ZH[field]}栏为 {column}")


def template_for(session: Session, fonds: str | None, category: str | None
                 ) -> ReferenceTemplate | None:
    """The template configured for this fonds and category, if any."""
    if not category:
        return None
    return session.exec(select(ReferenceTemplate).where(
        ReferenceTemplate.fonds == (fonds or ""), ReferenceTemplate.category == category)).first()


def render(template: str, *, fonds: str | None, category: str, year: int, retention: str,
           org: str | None, item: int, digits: int = ITEM_DIGITS) -> str:
    """A code from a template such as `{fonds}-{category}·{year}·{retention}·{org}-{item}`."""
    code = template.format(fonds=fonds or "", category=category, year=year, retention=retention,
                           org=org or "", item=f"{item:0{digits}d}")
    # A template with an {org} part and a record without one: drop the empty level.
    return code.replace("··", "·").replace("·-", "-").strip("-·")


def conforms(code: str, template: ReferenceTemplate) -> bool:
    """True when the code is of the template's form (its parts read and padded as it says)."""
    parts = parse(code)
    if parts is None or len(parts.item_text) != template.item_digits:
        return False
    return code == render(template.pattern, fonds=parts.fonds, category=parts.category,
                          year=parts.year, retention=parts.retention_code, org=parts.org,
                          item=parts.item, digits=template.item_digits)


def next_item(session: Session, *, fonds: str | None, category: str, year: int,
              retention: str, org: str | None, taken: Iterable[str] = ()) -> int:
    """One past the highest 件号 of the class (records held and codes about to be added)."""
    codes = list(session.exec(select(Record.reference_code).where(
        Record.year == year, col(Record.reference_code).contains(category))).all())
    highest = 0
    for code in [*codes, *taken]:
        parts = parse(code)
        # Without a fonds in the template, the class is the same whatever fonds a code names.
        if parts and (parts.klass if fonds else parts.klass[1:]) == (
                (fonds or "", category, year, retention, org or "") if fonds
                else (category, year, retention, org or "")):
            highest = max(highest, parts.item)
    return highest + 1


def build(session: Session, *, fonds: str | None, category: str | None, year: int | None,
          retention: str, retention_years: int | None, org: str | None = None,
          taken: Iterable[str] = ()) -> str:
    """The next code of the record's class, per the fonds' template or the default form."""
    if not category or year is None:
        raise Invalid("give a reference code, or a category (门类) and a year to number it by",
                      field="reference_code")
    if category not in CATEGORIES:
        raise Invalid("门类 {category!r} is none of {categories}",
                      category=category, categories=', '.join(CATEGORIES), field="category")
    code = retention_code(retention, retention_years)
    template = template_for(session, fonds, category)
    pattern = template.pattern if template else DEFAULT_TEMPLATE
    digits = template.item_digits if template else ITEM_DIGITS
    uses_fonds = "{fonds}" in pattern
    item = next_item(session, fonds=fonds if uses_fonds else None, category=category, year=year,
                     retention=code, org=org if "{org}" in pattern else None, taken=taken)
    return render(pattern, fonds=fonds, category=category, year=year, retention=code, org=org,
                  item=item, digits=digits)


@dataclass(frozen=True, slots=True)
class Gap:
    """Numbers missing from a class of continuously numbered items."""

    klass: str
    missing: list[int]


def class_label(parts: ReferenceParts) -> str:
    """A class as people write it: [全宗号-]门类·年度·保管期限[·机构]."""
    head = f"{parts.category}·{parts.year}·{parts.retention_code}"
    if parts.org:
        head += f"·{parts.org}"
    return f"{parts.fonds}-{head}" if parts.fonds else head


def gaps(codes: Iterable[str], *, limit: int = 200) -> list[Gap]:
    """Every class whose 件号 do not run 1..n without a hole, with the missing numbers."""
    by_class: dict[str, set[int]] = defaultdict(set)
    for code in codes:
        parts = parse(code)
        if parts is not None:
            by_class[class_label(parts)].add(parts.item)
    found = []
    for label in sorted(by_class):
        items = by_class[label]
        missing = [n for n in range(1, max(items) + 1) if n not in items][:limit]
        if missing:
            found.append(Gap(label, missing))
    return found


def check(session: Session | None, *, code: str, fonds: str | None, category: str | None,
          year: int | None, retention: str, retention_years: int | None,
          item: int | None = None, given: set[str] | None = None) -> dict[str, object]:
    """Check a record's code against its fields (and its class's template); the fields the
    code supplies that the record left empty (year, retention, category, item, fonds).

    `given` names the fields the caller wrote (None: all of them); a year or retention not
    written is taken from the code. Raises Invalid naming the field that disagrees.
    """
    parts = parse(code)
    template = template_for(session, fonds or (parts.fonds if parts else None),
                            category or (parts.category if parts else None)) if session else None
    if template is not None and not conforms(code, template):
        example = render(template.pattern, fonds=template.fonds or fonds, category=template.category,
                         year=year or 2024, retention="Y", org="办公室", item=1,
                         digits=template.item_digits)
        raise Invalid("the reference code {code} is not of the form {pattern} set for fonds "
                      "{fonds} category {category}, e.g. {example}",
                      code=code, pattern=template.pattern, fonds=template.fonds or '(any)',
                      category=template.category, example=example, field="reference_code")
    if parts is None:
        return {}
    filled: dict[str, object] = {"category": parts.category, "item": parts.item}
    if given is not None and "retention" not in given:
        retention, retention_years = parts.retention
        filled.update(retention=retention, retention_years=retention_years)
    if given is not None and "year" not in given:
        year = None
    wrong = disagreement(parts, year=year, retention=retention, retention_years=retention_years)
    if wrong:
        raise CodeDisagrees(wrong[1], field=wrong[0], message_zh=f"档号 {code}：{wrong[2]}")
    if category and category != parts.category:
        raise _disagrees(code, "category", parts.category, category)
    if item is not None and item != parts.item:
        raise _disagrees(code, "item", parts.item_text, item)
    if fonds and parts.fonds and fonds != parts.fonds:
        raise _disagrees(code, "fonds", parts.fonds, fonds)
    if year is None:
        filled["year"] = parts.year
    if not fonds and parts.fonds:
        filled["fonds"] = parts.fonds
    return filled
