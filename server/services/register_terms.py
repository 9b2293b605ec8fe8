"""The words registers use for a record's terms, read into the archive's canonical values.

One home for every spelling people write in a register or a request: English, Chinese and
the codes of DA/T 22-2015 (保管期限 Y / D30 / D10) and GB/T 7156 (密级 GK XZ MM JM UM). The
import, the API's request models and the EEP package reader all go through here, so
`POST /api/records` accepts "定期30年" exactly as a spreadsheet does, and every answer carries
the canonical values (`30y`, `secret`, `open`).

This module is pure (no database, no HTTP): a value it cannot read raises `TermError`, which
says, in English and in Chinese, which forms it takes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from server.services import translations

RETENTIONS = ("permanent", "30y", "10y", "custom")
CLASSIFICATION_LEVELS = ("public", "internal", "confidential", "secret", "top_secret")
ACCESS_LEVELS = ("open", "controlled", "delayed", "unreviewed")

RETENTION_ZH = {"permanent": "永久", "30y": "定期30年", "10y": "定期10年", "custom": "定期"}
RETENTION_CODE = {"permanent": "Y", "30y": "D30", "10y": "D10"}
CLASSIFICATION_ZH = {"public": "公开", "internal": "内部", "confidential": "秘密",
                     "secret": "机密", "top_secret": "绝密"}
CLASSIFICATION_CODE = {"public": "GK", "internal": "XZ", "confidential": "MM", "secret": "JM",
                       "top_secret": "UM"}
ACCESS_ZH = {"open": "开放", "controlled": "控制", "delayed": "延期开放", "unreviewed": "未审核"}

# Header as written (normalised: lower case, spaces and dashes as _) → record field.
HEADERS: dict[str, str] = {
    "reference_code": "reference_code", "reference": "reference_code", "ref": "reference_code",
    "档号": "reference_code",
    "title": "title", "题名": "title", "文件题名": "title",
    "description": "description", "内容摘要": "description", "摘要": "description",
    "fonds": "fonds", "全宗": "fonds", "全宗号": "fonds",
    "series": "series", "类别": "series", "类别号": "series",
    "category": "category", "门类": "category", "门类代码": "category",
    "year": "year", "年度": "year",
    "date": "date", "日期": "date", "成文日期": "date", "文件形成时间": "date",
    "creator": "creator", "责任者": "creator",
    "document_number": "document_number", "文号": "document_number", "文件编号": "document_number",
    "retention": "retention", "保管期限": "retention",
    "retention_years": "retention_years",
    "classification": "classification", "密级": "classification",
    "access": "access", "开放标识": "access", "开放状态": "access",
    "pages": "pages", "页数": "pages",
    "item": "item", "件号": "item",
    "level": "level", "著录层级": "level",
    "note": "note", "备注": "note",
    "box": "box", "box_code": "box", "盒号": "box",
    "location": "location", "location_code": "location", "位置": "location", "存放位置": "location",
}

LEVELS = ("fonds", "category", "volume", "file")
LEVEL_WORDS = {"fonds": "fonds", "全宗": "fonds", "category": "category", "类别": "category",
               "volume": "volume", "案卷": "volume", "卷": "volume", "file": "file",
               "文件": "file", "件": "file"}


@dataclass(slots=True)
class TermError(ValueError):
    """A value no form of the field's term matches; says which forms it takes."""

    field: str
    value: str
    forms_en: str
    forms_zh: str

    def __str__(self) -> str:
        return self.message("en")

    def message(self, language: str) -> str:
        """The message in `language` ("zh" or anything else for English)."""
        if language == "zh":
            return f"无法识别{_FIELD_ZH.get(self.field, self.field)} “{self.value}”：可写 {self.forms_zh}"
        return f"cannot read {self.field} {self.value!r}: write {self.forms_en}"


_FIELD_ZH = {"retention": "保管期限", "classification": "密级", "access": "开放标识",
             "level": "著录层级", "date": "日期", "pages": "页数"}

_RETENTION_FORMS_EN = ("permanent, 永久 or Y; 30 years, 30年, 定期30年, D30 or 30y; "
                       "10 years, 10年, 定期10年, D10 or 10y; or another term such as 定期5年 / D5")
# The Chinese message names the Chinese forms and the register codes (the English forms still
# read, and the English message names them): a Chinese page says no English words.
_RETENTION_FORMS_ZH = ("永久（代码 Y）；定期30年、30年（代码 D30）；定期10年、10年（代码 D10）；"
                       "或其他期限，如 定期5年（代码 D5）")
_CLASS_FORMS_EN = ("public/公开/GK, internal/内部/XZ, confidential/秘密/MM, secret/机密/JM, "
                   "top_secret/绝密/UM (a term may follow ★, e.g. 机密★10年)")
_CLASS_FORMS_ZH = ("公开(GK)、内部(XZ)、秘密(MM)、机密(JM)、绝密(UM)，或英文 public、internal、"
                   "confidential、secret、top_secret；可带保密期限，如 机密★10年")
_ACCESS_FORMS_EN = "open/开放, controlled/控制, delayed/延期开放, unreviewed/未审核"
_ACCESS_FORMS_ZH = "开放、控制、延期开放、未审核（或 open、controlled、delayed、unreviewed）"
_LEVEL_FORMS_EN = "file/文件, volume/案卷, category/类别, fonds/全宗"
_LEVEL_FORMS_ZH = "文件、案卷、类别、全宗（或 file、volume、category、fonds）"


def _plain(value: Any) -> str:
    # Full-width letters and digits (Ｄ３０) as typed by Chinese input methods become ASCII.
    return unicodedata.normalize("NFKC", str(value)).strip()


def header_field(name: str) -> str | None:
    """The record field a column header names, or None for a column kept as metadata."""
    key = re.sub(r"[\s\-]+", "_", _plain(name).lower())
    return HEADERS.get(key)


_YEARS = re.compile(
    r"^(?:定期\s*(?P<a>\d{1,4})\s*年|(?P<b>\d{1,4})\s*年|d\s*(?P<c>\d{1,4})|(?P<d>\d{1,4})\s*y"
    r"|(?P<e>\d{1,4})\s*(?:years?|yrs?))$"
)


def retention(value: Any) -> tuple[str, int | None]:
    """(retention, retention_years) for a written term: 永久 → ("permanent", None),
    定期30年 → ("30y", None), 定期5年 → ("custom", 5)."""
    text = _plain(value)
    low = text.lower()
    if low in ("permanent", "永久", "y"):
        return "permanent", None
    if low == "custom":
        return "custom", None
    if low in ("30y", "10y"):
        return low, None
    found = _YEARS.match(low)
    if found:
        years = int(next(g for g in found.groups() if g))
        if years == 30:
            return "30y", None
        if years == 10:
            return "10y", None
        if 0 < years <= 1000:
            return "custom", years
    raise TermError("retention", text, _RETENTION_FORMS_EN, _RETENTION_FORMS_ZH)


_CLASS_WORDS: dict[str, str] = {}
for _level in CLASSIFICATION_LEVELS:
    _CLASS_WORDS[_level] = _level
    _CLASS_WORDS[CLASSIFICATION_ZH[_level]] = _level
    _CLASS_WORDS[CLASSIFICATION_CODE[_level].lower()] = _level
_CLASS_WORDS.update({"top secret": "top_secret", "top-secret": "top_secret"})


def classification(value: Any) -> tuple[str, str | None]:
    """(level, term) for a written 密级: 机密★10年 → ("secret", "10年"), UM → ("top_secret", None)."""
    text = _plain(value)
    word, _, term = text.replace("☆", "★").replace("*", "★").partition("★")
    level = _CLASS_WORDS.get(word.strip().lower())
    if level is None:
        raise TermError("classification", text, _CLASS_FORMS_EN, _CLASS_FORMS_ZH)
    return level, (term.strip() or None)


def access(value: Any) -> str:
    """The canonical 开放标识 for a written one (开放 → open)."""
    text = _plain(value)
    low = text.lower()
    if low in ACCESS_LEVELS:
        return low
    for name, zh in ACCESS_ZH.items():
        if text == zh:
            return name
    raise TermError("access", text, _ACCESS_FORMS_EN, _ACCESS_FORMS_ZH)


def level(value: Any) -> str:
    """The canonical 著录层级 (file, volume, category, fonds)."""
    text = _plain(value)
    found = LEVEL_WORDS.get(text.lower())
    if found is None:
        raise TermError("level", text, _LEVEL_FORMS_EN, _LEVEL_FORMS_ZH)
    return found


def read_record_terms(data: Any) -> Any:
    """A record's input with every written term in its canonical form (for the API models).

    Takes the raw mapping a request or a register row gives; leaves anything it does not
    know alone, so the models' own checks still apply.
    """
    if not isinstance(data, dict):
        return data
    out, errors = read_each_term(data)
    if errors:
        raise errors[0]
    return out


def read_each_term(data: dict[str, Any]) -> tuple[dict[str, Any], list[TermError]]:
    """Like read_record_terms, but every term it cannot read is returned, none raised."""
    out = dict(data)
    errors: list[TermError] = []

    def text(name: str) -> str | None:
        value = out.get(name)
        return value if isinstance(value, str) and value.strip() else None

    try:
        if (written := text("retention")) is not None:
            code, years = retention(written)
            out["retention"] = code
            if years is not None and not out.get("retention_years"):
                out["retention_years"] = years
    except TermError as exc:
        errors.append(exc)
    try:
        if (written := text("classification")) is not None:
            level_name, term = classification(written)
            out["classification"] = level_name
            if term and not out.get("classification_term"):
                out["classification_term"] = term
    except TermError as exc:
        errors.append(exc)
    for name, reader in (("access", access), ("level", level), ("date", read_date),
                         ("pages", read_pages)):
        try:
            if (written := text(name)) is not None:
                out[name] = reader(written)
            elif isinstance(out.get(name), str):
                out[name] = None
        except TermError as exc:
            errors.append(exc)
    return out, errors


def read_pages(value: str) -> int:
    """页数 as registers write it: 12, 12页, 12 pp."""
    text = _plain(value)
    found = re.fullmatch(r"(\d{1,7})\s*(?:页|pp?\.?|pages?)?", text.lower())
    if not found:
        raise TermError("pages", text, "a number of pages, e.g. 12", "页数，如 12 或 12页")
    return int(found[1])


_DATE = re.compile(r"^(\d{4})[-./年]?(\d{1,2})[-./月]?(\d{1,2})日?$")


def read_date(value: str) -> str | None:
    """An ISO date for the ways registers write one (20240315, 2024-03-15, 2024年3月15日)."""
    text = _plain(value)
    if not text:
        return None
    found = _DATE.match(text)
    if not found:
        raise TermError("date", text, "YYYY-MM-DD or YYYYMMDD (e.g. 20240315)",
                        "YYYYMMDD 或 YYYY-MM-DD（如 20240315、2024年3月15日）")
    year, month, day = (int(g) for g in found.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def language_of(accept_language: str | None) -> str:
    """"zh" when the request ranks Chinese above English, else "en" (Accept-Language)."""
    return translations.language_of(accept_language)  # the one chooser of languages
