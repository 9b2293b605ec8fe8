"""The dashboard's gettext catalogs: every word a page uses exists in both languages."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg

from dashboard import i18n

ROOT = Path(i18n.__file__).resolve().parent.parent
TEMPLATES = ROOT / "dashboard" / "templates"
# t("request.state." ~ r.state): a key built from a prefix; extraction cannot see these.
PREFIX = re.compile(r"""\bt\(\s*["']([a-z_.0-9]+[._])["']\s*~""")
TERM = re.compile(r"""\bterm\(\s*["']([a-z_]+)["']""")


def _extracted() -> set[str]:
    """The keys `make catalogs` extracts: babel.cfg's files with the Makefile's keywords."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    spec = re.search(r"^BABEL_KEYWORDS\s*:=\s*(.+)$", makefile, re.M)
    assert spec, "the Makefile names its extraction keywords in BABEL_KEYWORDS"
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(spec[1].replace("-k", " ").split())}
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _sources() -> list[str]:
    files = [*TEMPLATES.glob("*.html"), *(ROOT / "dashboard").glob("*.py")]
    return [f.read_text(encoding="utf-8") for f in files]


def test_both_catalogues_have_the_same_keys():
    assert i18n.keys("en") - i18n.keys("zh") == set()
    assert i18n.keys("zh") - i18n.keys("en") == set()


def test_every_key_the_code_and_templates_use_has_chinese_and_english():
    used = _extracted()
    assert len(used) > 200, "extraction found too few keys; the test would prove little"
    for language in i18n.LANGUAGES:
        blank = sorted(k for k in used if i18n._forms(language, k) is None)
        assert blank == [], f"{language}: no text for {blank} (make catalogs, then write them)"


def test_every_prefix_a_page_builds_keys_from_has_words():
    prefixes = {p for text in _sources() for p in PREFIX.findall(text)}
    assert "request.state." in prefixes
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in i18n.keys("zh")), prefix


def test_every_term_group_has_words_in_chinese():
    groups = {g for text in _sources() for g in TERM.findall(text)}
    assert {"status", "kind", "class", "role", "state", "severity", "alarm"} <= groups
    for group in groups:
        assert any(k.startswith(f"{group}.") for k in i18n.keys("zh")), group


def test_chinese_uses_the_archive_words():
    t = i18n.translator("zh")
    assert (t("kind.unit"), t("kind.side"), t("kind.section"), t("kind.shelf")) == (
        "密集架", "面", "节", "层")
    assert t("class.public") == "公开"
    assert t("field.retention") == "保管期限"
    assert t("field.fonds") == "全宗"
    assert t("nav.alarms") == "告警"


def test_placeholders_match_between_languages():
    field = re.compile(r"{(\w+)}")
    for message in i18n.CATALOGS["en"]:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        english = "".join(i18n._forms("en", key) or ())
        chinese = "".join(i18n._forms("zh", key) or ())
        assert set(field.findall(english)) == set(field.findall(chinese)), key


def test_plurals_follow_each_language():
    en, zh = i18n.translator("en"), i18n.translator("zh")
    assert en.n("find.results", 1, total=1) == "1 record found"
    assert en.n("find.results", 2, total=2) == "2 records found"
    assert en.n("find.results", 0, total=0) == "0 records found"
    assert zh.n("find.results", 1, total=1) == "找到 1 条档案"
    assert zh.n("find.results", 5, total=5) == "找到 5 条档案"
    assert i18n.CATALOGS["en"].num_plurals == 2 and i18n.CATALOGS["zh"].num_plurals == 1


def test_a_missing_key_falls_back_to_english_and_is_logged_once(caplog):
    zh = i18n.translator("zh")
    i18n.CATALOGS["en"].add("test.only_english", "Only in English")
    try:
        with caplog.at_level(logging.WARNING, logger="dashboard.i18n"):
            assert zh("test.only_english") == "Only in English"
            assert zh("test.only_english") == "Only in English"
            assert zh("test.nowhere") == "test.nowhere"
    finally:
        del i18n.CATALOGS["en"]["test.only_english"]
    told = [r.getMessage() for r in caplog.records]
    assert sum("test.only_english" in m for m in told) == 1


def test_demo_place_names_in_chinese():
    zh, en = i18n.translator("zh"), i18n.translator("en")
    path = "一号库房 Room 1 › Unit 01 › A › Section 1 › Shelf 2 › Slot 2"
    assert i18n.place_path(zh, path) == "一号库房 › 1号密集架 › A › 第1节 › 第2层 › 第2格"
    assert i18n.place_path(en, path) == path
    assert i18n.place_name(zh, "section", "Section 2") == "第2节"
    assert i18n.place_name(en, "section", "Section 2") == "Section 2"
    assert i18n.place_name(en, "shelf", "4") == "Shelf 4"


def test_dates_follow_the_language_and_the_archive_zone():
    when = datetime(2026, 12, 1, 10, 56, tzinfo=UTC)
    shanghai = i18n.zone("Asia/Shanghai")
    assert i18n.format_when(when, "zh", shanghai) == "2026年12月1日 18:56"
    assert i18n.format_when(when, "en", shanghai) == "Dec 1, 2026, 6:56\u202fPM"
    assert i18n.format_when(when.replace(tzinfo=None), "en", i18n.zone("UTC")).startswith(
        "Dec 1, 2026, 10:56")


def test_language_choice_order():
    assert i18n.choose("zh", "en", "en-GB") == "zh"
    assert i18n.choose(None, "zh", "en-GB") == "zh"
    assert i18n.choose(None, None, "fr-FR, zh-CN;q=0.8, en;q=0.5") == "zh"
    assert i18n.choose("xx", None, "de-DE") == "en"
