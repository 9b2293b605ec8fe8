"""The dashboard's words in English and Simplified Chinese, and which language a request wants.

The words live in gettext catalogs, dashboard/locale/<lang>/LC_MESSAGES/dashboard.po, managed
with Babel (`make catalogs`); the msgids are keys such as "nav.overview". This module reads
them at import and is the one home for how the dashboard says things in a language: words,
plurals, dates and numbers (Babel's CLDR data), and location names.
"""

from __future__ import annotations

import gettext
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from server.services import translations

log = logging.getLogger(__name__)

# One list of languages for pages and the API: server/services/translations.py.
LANGUAGES: tuple[str, ...] = translations.LANGUAGES
DEFAULT_LANGUAGE = translations.DEFAULT_LANGUAGE
# What goes in <html lang>: browsers pick CJK glyph shapes from it.
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}
# The CLDR locale whose dates, numbers and plural rules each language uses.
LOCALES = {"en": Locale.parse("en"), "zh": Locale.parse("zh_Hans_CN")}
DOMAIN = "dashboard"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalog_path(language: str) -> Path:
    """Where a language's PO catalog lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(language: str) -> Catalog:
    with catalog_path(language).open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


# Read once at import: ~500 entries take milliseconds, and with no compiled .mo there is
# no second copy to go stale (see docs/architecture.md, "Words in two languages").
CATALOGS: dict[str, Catalog] = {language: _read(language) for language in LANGUAGES}
_PLURAL = {language: gettext.c2py(c.plural_expr) for language, c in CATALOGS.items()}
_told_missing: set[tuple[str, str]] = set()


def keys(language: str) -> set[str]:
    """Every key a language's catalog has (plural entries by their key)."""
    return {str(m.id[0] if isinstance(m.id, tuple) else m.id) for m in CATALOGS[language] if m.id}


def _forms(language: str, key: str) -> tuple[str, ...] | None:
    message = CATALOGS[language].get(key)
    if message is None or message.fuzzy:
        return None
    string = message.string
    forms = tuple(str(f or "") for f in string) if isinstance(string, (tuple, list)) else (
        str(string or ""),)
    return forms if all(forms) else None


def _missing(language: str, key: str) -> None:
    if (language, key) not in _told_missing:  # once: a missing word on a busy page is one line
        _told_missing.add((language, key))
        log.warning("no %s text for %r", language, key)


class Translator:
    """t(key, **values) -> the text in one language; t.n(key, count, **values) for counts.

    A key missing in the language falls back to English (logged once), then to the key.
    """

    def __init__(self, language: str) -> None:
        self.lang = language if language in CATALOGS else DEFAULT_LANGUAGE
        self._plural = _PLURAL[self.lang]

    def _lookup(self, key: str) -> tuple[str, tuple[str, ...]]:
        forms = _forms(self.lang, key)
        if forms is not None:
            return self.lang, forms
        _missing(self.lang, key)
        if self.lang != DEFAULT_LANGUAGE and (forms := _forms(DEFAULT_LANGUAGE, key)):
            return DEFAULT_LANGUAGE, forms
        return DEFAULT_LANGUAGE, (key,)

    def __call__(self, key: str, **values: object) -> str:
        """The text for key; a plural entry asked without a count says its general form."""
        _, forms = self._lookup(key)
        text = forms[-1]
        return text.format(**values) if values else text

    def n(self, key: str, count: int, **values: object) -> str:
        """The text for key in the plural form this language uses for count."""
        language, forms = self._lookup(key)
        index = _PLURAL[language](abs(int(count))) if len(forms) > 1 else 0
        return forms[min(index, len(forms) - 1)].format(count=count, **values)


def normalise(tag: str | None) -> str | None:
    """One of our languages for a tag like 'zh-CN', 'zh-Hans' or 'en-GB', else None."""
    return translations.normalise(tag)  # one chooser for pages and the API


def from_accept_language(header: str | None) -> str | None:
    """The language of ours the browser ranks highest in its Accept-Language header."""
    return translations.from_accept_language(header)


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: ?lang= first, then the lang cookie, then Accept-Language."""
    return (
        normalise(query) or normalise(cookie) or from_accept_language(accept_language)
        or DEFAULT_LANGUAGE
    )


def translator(language: str) -> Translator:
    """A function key, **values -> the text in this language (English when a key is missing)."""
    return Translator(language)


def term(translate: Callable[..., str], group: str, value: str | None) -> str:
    """A domain value (status, kind, ...) in words, or the value itself when it has none."""
    if value is None:
        return translate("none")
    key = f"{group}.{value}"
    return translate(key) if key in CATALOGS[DEFAULT_LANGUAGE] else value


# --------------------------------------------------------------- location names

# A name that is an English kind word and a number or letter ("Section 2", "Unit 01", as the
# demo and many registers name places) is a word plus a number, not a name: say it in the
# page's language. "Unit" is how registers shorten "Shelving unit".
_KIND_WORDS = {"room": "room", "unit": "unit", "shelving unit": "unit", "side": "side",
               "section": "section", "shelf": "shelf", "slot": "slot"}
_NUMBERED = re.compile(r"^(?P<word>[A-Za-z]+(?: unit)?)\s+(?P<number>[0-9A-Za-z]{1,4})$")
# A bilingual name, Chinese then English ("一号库房 Room 1"): each language says its own part.
_BILINGUAL = re.compile(r"^(?P<zh>[^\x00-\x7f][^A-Za-z]*?)\s+(?P<en>[A-Za-z].*)$")
PATH_SEPARATOR = " › "  # as server.services.locations joins paths


def _numbered(name: str) -> tuple[str, str] | None:
    match = _NUMBERED.match(name.strip())
    if not match or match["word"].casefold() not in _KIND_WORDS:
        return None
    number = match["number"]
    return _KIND_WORDS[match["word"].casefold()], str(int(number)) if number.isdigit() else number


def _said(translate: Callable[..., str], name: str) -> str | None:
    """A name in the translator's language when it is a kind word and a number, or bilingual."""
    if getattr(translate, "lang", DEFAULT_LANGUAGE) == DEFAULT_LANGUAGE:
        return None
    if (numbered := _numbered(name)) is not None:
        kind, number = numbered
        return translate(f"place.numbered.{kind}", number=number)
    if (both := _BILINGUAL.match(name.strip())) is not None:
        return both["zh"]
    return None


def place_name(translate: Callable[..., str], kind: str, name: str) -> str:
    """A location as a heading says it: "Section 2", or "Shelf 4" for a shelf named "4".

    A name that already starts with its kind ("Section 2", "二号库房" for a room, "Slot 1")
    is said as it is, so a heading never reads "Section Section 2"; on a Chinese page a
    name like "Section 2" becomes "第2节" and "一号库房 Room 1" its Chinese part.
    """
    said = _said(translate, name)
    if said is not None:
        return said
    word = term(translate, "kind", kind)
    english = Translator(DEFAULT_LANGUAGE)(f"kind.{kind}") if f"kind.{kind}" in CATALOGS[
        DEFAULT_LANGUAGE] else kind
    folded = name.casefold()
    if folded.startswith(kind.casefold()) or folded.startswith(english.casefold()) \
            or word in name:
        return name
    return translate("location.title", kind=word, name=name)


def place_path(translate: Callable[..., str], path: str | None) -> str:
    """A location path ("一号库房 Room 1 › Unit 01 › A › Section 1") in the page's language."""
    if not path:
        return path or ""
    return PATH_SEPARATOR.join(_said(translate, part) or part
                               for part in path.split(PATH_SEPARATOR))


# --------------------------------------------------------------- dates and numbers


def zone(name: str) -> ZoneInfo:
    """The archive's time zone by its IANA name (settings.timezone)."""
    return ZoneInfo(name)


def moment(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime in the archive's zone; naive values were stored as UTC."""
    if value.tzinfo is None:  # SQLite gives naive values
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


def format_when(value: datetime, language: str, tz: ZoneInfo) -> str:
    """A date and time as the language writes it (medium date, short time), in the archive's
    time zone: "Dec 1, 2026, 6:56 PM", "2026年12月1日 18:56"."""
    locale = LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE])
    local = moment(value, tz)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", dates.format_date(local, "medium", locale=locale)).replace(
        "{0}", dates.format_time(local, "short", tzinfo=tz, locale=locale))


def format_day(value: date, language: str) -> str:
    """A calendar day as the language writes it."""
    return dates.format_date(value, "medium",
                             locale=LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE]))


def format_number(value: float | int, language: str) -> str:
    """A count or measure with the language's digit grouping."""
    return numbers.format_decimal(value, locale=LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE]))


def format_percent(fraction: float, language: str) -> str:
    """A fraction (0.42) as a percentage ("42%")."""
    return numbers.format_percent(fraction,
                                  locale=LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE]))


# --------------------------------------------------------------- make catalogs


def keep_built_keys(pot: Path) -> int:
    """Add to an extracted template the keys code builds at run time, so update keeps them.

    `t("request.state." ~ r.state)` is invisible to extraction; the English catalog is where
    such keys are written down, so every key it has stays in the template.
    """
    with pot.open("rb") as f:
        template = read_po(f, domain=DOMAIN)
    added = 0
    for message in CATALOGS[DEFAULT_LANGUAGE]:
        if message.id and message.id not in template:
            template.add(message.id)
            added += 1
    with pot.open("wb") as f:
        write_po(f, template, omit_header=True, sort_output=True, width=0)
    return added


if __name__ == "__main__":  # make catalogs
    import sys

    print(f"{keep_built_keys(Path(sys.argv[1]))} keys kept that are built at run time")
